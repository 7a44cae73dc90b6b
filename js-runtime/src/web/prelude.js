// The web-standard globals of wasock-js (see web/mod.rs). Evaluated once per context as a
// function expression called with the host object (web/host.rs); returns the internals the
// Rust side and the Node prelude use (`serveDefault`, `inspect`, `format`).
(function (host) {
'use strict'
const g = globalThis
const define = (name, value) =>
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false })
const nativeSetTimeout = g.setTimeout
const nativeClearTimeout = g.clearTimeout
const encoder = new TextEncoder()
const decoder = new TextDecoder()
const INSPECT = Symbol.for('nodejs.util.inspect.custom')
const TypedArray = Object.getPrototypeOf(Uint8Array)

// ---------------------------------------------------------------- console (Node's format)

function isError(value) {
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]'
}

function quote(text) {
    return "'" + text.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n') + "'"
}

function keyText(key) {
    if (typeof key === 'symbol') return '[' + key.toString() + ']'
    return /^[A-Za-z_$][\w$]*$/.test(key) ? key : quote(key)
}

function errorText(error) {
    const name = error.name === undefined ? 'Error' : String(error.name)
    const head = error.message ? `${name}: ${error.message}` : name
    const stack = typeof error.stack === 'string' ? error.stack.replace(/\s+$/, '') : ''
    if (!stack) return head
    return stack.startsWith(head) ? stack : head + '\n' + stack
}

function constructorName(value) {
    const proto = Object.getPrototypeOf(value)
    if (proto === null) return null
    const ctor = proto.constructor
    return typeof ctor === 'function' && typeof ctor.name === 'string' ? ctor.name : ''
}

function wrap(prefix, items, open, close, indent) {
    if (items.length === 0) return `${prefix}${open}${close}`
    const oneLine = `${prefix}${open} ${items.join(', ')} ${close}`
    if (oneLine.length + indent <= 76 && !items.some((item) => item.includes('\n'))) return oneLine
    const pad = ' '.repeat(indent + 2)
    return `${prefix}${open}\n${pad}${items.join(',\n' + pad)}\n${' '.repeat(indent)}${close}`
}

// Node's util.inspect, its common subset: depth 2, cycles, Map/Set, typed arrays, errors
// with their stack, class names, getters, a custom inspect hook.
function inspect(value, options = {}, depth = 0, seen = [], indent = 0) {
    const maxDepth = options.depth === undefined ? 2 : options.depth
    switch (typeof value) {
        case 'string': return depth === 0 && options.top ? value : quote(value)
        case 'number': return Object.is(value, -0) ? '-0' : String(value)
        case 'bigint': return `${value}n`
        case 'boolean': case 'undefined': return String(value)
        case 'symbol': return value.toString()
        case 'function': {
            const source = Function.prototype.toString.call(value)
            const kind = /^class\b/.test(source) ? 'class' : 'Function'
            const name = value.name ? `${kind === 'class' ? ' ' : ': '}${value.name}` : (kind === 'class' ? ' (anonymous)' : ' (anonymous)')
            return `[${kind}${name}]`
        }
    }
    if (value === null) return 'null'
    if (typeof value[INSPECT] === 'function') {
        const shown = value[INSPECT](maxDepth - depth, options, { inspect: (v, o) => inspect(v, o) })
        return typeof shown === 'string' ? shown : inspect(shown, options, depth, seen, indent)
    }
    if (seen.includes(value)) return '[Circular *1]'
    if (isError(value)) return errorText(value).split('\n').join('\n' + ' '.repeat(indent))
    if (value instanceof Date) return isNaN(value) ? 'Invalid Date' : value.toISOString()
    if (value instanceof RegExp) return String(value)
    if (value instanceof Promise) return 'Promise { <unknown> }'
    if (value instanceof WeakMap || value instanceof WeakSet) return `${constructorName(value)} { <items unknown> }`
    const name = constructorName(value)
    if (depth > maxDepth) {
        if (Array.isArray(value)) return '[Array]'
        return `[${name || 'Object'}]`
    }
    seen = seen.concat([value])
    const nested = (item, extra = 2) => inspect(item, options, depth + 1, seen, indent + extra)
    const props = (skip) => {
        const out = []
        for (const key of Reflect.ownKeys(value)) {
            if (skip(key)) continue
            const descriptor = Object.getOwnPropertyDescriptor(value, key)
            if (!descriptor.enumerable) continue
            let shown
            if (descriptor.get || descriptor.set) {
                shown = descriptor.get && descriptor.set ? '[Getter/Setter]' : descriptor.get ? '[Getter]' : '[Setter]'
            } else {
                shown = nested(descriptor.value)
            }
            out.push(`${keyText(key)}: ${shown}`)
        }
        return out
    }
    const isIndex = (key) => typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key)
    if (Array.isArray(value)) {
        const items = []
        const shown = Math.min(value.length, 100)
        let holes = 0
        for (let i = 0; i < shown; i++) {
            if (!(i in value)) { holes++; continue }
            if (holes) { items.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`); holes = 0 }
            items.push(nested(value[i]))
        }
        if (holes) items.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`)
        if (value.length > shown) items.push(`... ${value.length - shown} more items`)
        items.push(...props((key) => isIndex(key) || key === 'length'))
        const prefix = name && name !== 'Array' ? `${name}(${value.length}) ` : ''
        return wrap(prefix, items, '[', ']', indent)
    }
    if (value instanceof Map) {
        const items = []
        for (const [k, v] of value) items.push(`${nested(k)} => ${nested(v)}`)
        return wrap(`${name}(${value.size}) `, items, '{', '}', indent)
    }
    if (value instanceof Set) {
        const items = []
        for (const v of value) items.push(nested(v))
        return wrap(`${name}(${value.size}) `, items, '{', '}', indent)
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        const items = []
        const shown = Math.min(value.length, 100)
        for (let i = 0; i < shown; i++) items.push(nested(value[i]))
        if (value.length > shown) items.push(`... ${value.length - shown} more items`)
        return wrap(`${name}(${value.length}) `, items, '[', ']', indent)
    }
    if (value instanceof ArrayBuffer) {
        const bytes = Array.from(new Uint8Array(value).slice(0, 50), (b) => b.toString(16).padStart(2, '0'))
        const more = value.byteLength > 50 ? ` ... ${value.byteLength - 50} more bytes` : ''
        return `ArrayBuffer { [Uint8Contents]: <${bytes.join(' ')}${more}>, byteLength: ${value.byteLength} }`
    }
    const items = props(() => false)
    let prefix
    if (name === null) prefix = '[Object: null prototype] '
    else if (name === 'Object') prefix = ''
    else prefix = `${name || 'Object'} `
    if (value instanceof Boolean || value instanceof Number || value instanceof String) {
        prefix = `[${name}: ${inspect(value.valueOf())}] `
        if (items.length === 0) return prefix.trim()
    }
    return wrap(prefix, items, '{', '}', indent)
}

// Node's util.format: printf-style specifiers in a first string, the rest inspected.
function format(...args) {
    let out = ''
    let rest = 0
    if (typeof args[0] === 'string' && args.length > 1) {
        const text = args[0]
        let next = 1
        let last = 0
        for (let i = 0; i < text.length - 1; i++) {
            if (text[i] !== '%') continue
            const spec = text[i + 1]
            if (spec === '%') { out += text.slice(last, i) + '%'; last = i + 2; i++; continue }
            if (!'sdifjoOc'.includes(spec)) continue
            if (next >= args.length) continue
            const arg = args[next++]
            let shown
            switch (spec) {
                case 's':
                    shown = typeof arg === 'bigint' ? `${arg}n`
                        : typeof arg === 'symbol' ? arg.toString()
                        : typeof arg === 'object' && arg !== null ? inspect(arg, { depth: 1 })
                        : String(arg)
                    break
                case 'd': shown = typeof arg === 'bigint' ? `${arg}n` : typeof arg === 'object' ? 'NaN' : inspect(Number(arg)); break
                case 'i': shown = typeof arg === 'bigint' ? `${arg}n` : typeof arg === 'object' ? 'NaN' : String(parseInt(arg)); break
                case 'f': shown = typeof arg === 'symbol' ? 'NaN' : String(parseFloat(arg)); break
                case 'j':
                    try { shown = JSON.stringify(arg) } catch (e) { shown = '[Circular]' }
                    break
                case 'o': shown = inspect(arg, { depth: 4 }); break
                case 'O': shown = inspect(arg); break
                case 'c': shown = ''; break
            }
            out += text.slice(last, i) + shown
            last = i + 2
            i++
        }
        out += text.slice(last)
        rest = next
    } else if (args.length > 0) {
        out = typeof args[0] === 'string' ? args[0] : inspect(args[0])
        rest = 1
    }
    for (let i = rest; i < args.length; i++) {
        out += ' ' + (typeof args[i] === 'string' ? args[i] : inspect(args[i]))
    }
    return out
}

const counts = new Map()
const timers = new Map()
let groupIndent = ''
const emit = (fd) => (...args) => {
    const text = format(...args)
    host.write(fd, (groupIndent ? groupIndent + text.split('\n').join('\n' + groupIndent) : text) + '\n')
}
const console = {
    log: emit(1), info: emit(1), debug: emit(1),
    warn: emit(2), error: emit(2),
    trace: (...args) => {
        const stack = (new Error().stack || '').split('\n').slice(1).join('\n')
        emit(2)('Trace' + (args.length ? ': ' + format(...args) : '') + '\n' + stack.replace(/\s+$/, ''))
    },
    dir: (value, options) => host.write(1, groupIndent + inspect(value, options || {}) + '\n'),
    assert: (condition, ...args) => {
        if (!condition) emit(2)('Assertion failed' + (args.length ? ': ' + format(...args) : ''))
    },
    count: (label = 'default') => {
        const n = (counts.get(label) || 0) + 1
        counts.set(label, n)
        emit(1)(`${label}: ${n}`)
    },
    countReset: (label = 'default') => counts.delete(label),
    time: (label = 'default') => timers.set(label, host.now()),
    timeLog: (label = 'default', ...args) => {
        if (!timers.has(label)) return emit(2)(`Warning: No such label '${label}' for console.timeLog()`)
        emit(1)(`${label}: ${(host.now() - timers.get(label)).toFixed(3)}ms`, ...args)
    },
    timeEnd: (label = 'default') => {
        if (!timers.has(label)) return emit(2)(`Warning: No such label '${label}' for console.timeEnd()`)
        emit(1)(`${label}: ${(host.now() - timers.get(label)).toFixed(3)}ms`)
        timers.delete(label)
    },
    group: (...args) => { if (args.length) emit(1)(...args); groupIndent += '  ' },
    groupEnd: () => { groupIndent = groupIndent.slice(2) },
    table: (data) => emit(1)(data),
}
define('console', console)

// ---------------------------------------------------------------- DOMException, events

const DOM_CODES = {
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
}
class DOMException extends Error {
    constructor(message = '', name = 'Error') {
        super(message)
        Object.defineProperty(this, 'name', { value: String(name), configurable: true, writable: true })
    }
    get code() { return DOM_CODES[this.name] || 0 }
}
for (const [name, code] of Object.entries(DOM_CODES)) {
    const constant = name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() + '_ERR'
    Object.defineProperty(DOMException, constant, { value: code, enumerable: true })
}
define('DOMException', DOMException)

class Event {
    #type; #cancelable; #defaultPrevented = false; #stop = false
    constructor(type, options = {}) {
        if (arguments.length === 0) throw new TypeError("Event: the 'type' argument is required")
        this.#type = String(type)
        this.#cancelable = !!options.cancelable
        this.target = null
        this.currentTarget = null
        this.timeStamp = host.now()
        this.bubbles = !!options.bubbles
        this.composed = !!options.composed
        this.isTrusted = false
    }
    get type() { return this.#type }
    get cancelable() { return this.#cancelable }
    get defaultPrevented() { return this.#defaultPrevented }
    preventDefault() { if (this.#cancelable) this.#defaultPrevented = true }
    stopImmediatePropagation() { this.#stop = true }
    stopPropagation() {}
    static _stopped(event) { return event.#stop }
}
define('Event', Event)

class CustomEvent extends Event {
    #detail
    constructor(type, options = {}) { super(type, options); this.#detail = options.detail ?? null }
    get detail() { return this.#detail }
}
define('CustomEvent', CustomEvent)

const LISTENERS = Symbol('listeners')
class EventTarget {
    constructor() { Object.defineProperty(this, LISTENERS, { value: new Map() }) }
    addEventListener(type, listener, options) {
        if (listener == null) return
        const once = typeof options === 'object' && options !== null && !!options.once
        const signal = typeof options === 'object' && options !== null ? options.signal : undefined
        if (signal && signal.aborted) return
        const list = this[LISTENERS].get(type) || []
        if (list.some((entry) => entry.listener === listener)) return
        const entry = { listener, once }
        list.push(entry)
        this[LISTENERS].set(type, list)
        if (signal) signal.addEventListener('abort', () => this.removeEventListener(type, listener))
        this._listenersChanged?.(type)
    }
    removeEventListener(type, listener) {
        const list = this[LISTENERS].get(type)
        if (!list) return
        const index = list.findIndex((entry) => entry.listener === listener)
        if (index >= 0) list.splice(index, 1)
        if (list.length === 0) this[LISTENERS].delete(type)
        this._listenersChanged?.(type)
    }
    dispatchEvent(event) {
        if (!(event instanceof Event)) throw new TypeError("dispatchEvent: the argument is not an Event")
        event.target = this
        event.currentTarget = this
        const handler = this['on' + event.type]
        const list = (this[LISTENERS].get(event.type) || []).slice()
        const call = (listener) => {
            try {
                if (typeof listener === 'function') listener.call(this, event)
                else if (listener && typeof listener.handleEvent === 'function') listener.handleEvent(event)
            } catch (error) {
                reportError(error)
            }
        }
        if (typeof handler === 'function') call(handler)
        for (const entry of list) {
            if (Event._stopped(event)) break
            if (entry.once) this.removeEventListener(event.type, entry.listener)
            call(entry.listener)
        }
        event.currentTarget = null
        return !event.defaultPrevented
    }
}
define('EventTarget', EventTarget)

// An error thrown by a listener or microtask: printed as uncaught, the process goes on
// (what browsers do; Node would exit).
function reportError(error) {
    host.write(2, 'Uncaught ' + (isError(error) ? errorText(error) : inspect(error)) + '\n')
}
define('reportError', reportError)

// ---------------------------------------------------------------- abort

class AbortSignal extends EventTarget {
    #aborted = false; #reason = undefined; #deadline = undefined; #timer = undefined
    constructor(key) {
        if (key !== LISTENERS) throw new TypeError('AbortSignal cannot be constructed: use new AbortController().signal')
        super()
        this.onabort = null
    }
    get aborted() { this._checkDeadline(); return this.#aborted }
    get reason() { this._checkDeadline(); return this.#reason }
    throwIfAborted() { if (this.aborted) throw this.#reason }
    _abort(reason) {
        if (this.#aborted) return
        this.#aborted = true
        this.#reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason
        if (this.#timer !== undefined) { nativeClearTimeout(this.#timer); this.#timer = undefined }
        this.dispatchEvent(new Event('abort'))
    }
    // AbortSignal.timeout: the timer runs only while someone listens, so a pending timeout
    // never keeps the process alive (Node unrefs it); without listeners `aborted` compares
    // the clock with the deadline.
    _checkDeadline() {
        if (!this.#aborted && this.#deadline !== undefined && host.now() >= this.#deadline) {
            this._abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
        }
    }
    _listenersChanged() {
        if (this.#deadline === undefined || this.#aborted) return
        const listening = this[LISTENERS].size > 0
        if (listening && this.#timer === undefined) {
            this.#timer = nativeSetTimeout(() => { this.#timer = undefined; this._checkDeadline() },
                Math.max(0, this.#deadline - host.now()))
        } else if (!listening && this.#timer !== undefined) {
            nativeClearTimeout(this.#timer)
            this.#timer = undefined
        }
    }
    static abort(reason) {
        const signal = new AbortSignal(LISTENERS)
        signal._abort(reason)
        return signal
    }
    static timeout(ms) {
        ms = Number(ms)
        if (!(ms >= 0) || !Number.isFinite(ms)) throw new TypeError(`AbortSignal.timeout: ${ms} is not a delay in ms`)
        const signal = new AbortSignal(LISTENERS)
        signal.#deadline = host.now() + ms
        return signal
    }
    static any(signals) {
        const signal = new AbortSignal(LISTENERS)
        for (const source of signals) {
            if (source.aborted) { signal._abort(source.reason); return signal }
        }
        for (const source of signals) {
            source.addEventListener('abort', () => signal._abort(source.reason), { once: true })
        }
        return signal
    }
}
define('AbortSignal', AbortSignal)

class AbortController {
    #signal = new AbortSignal(LISTENERS)
    get signal() { return this.#signal }
    abort(reason) { this.#signal._abort(reason) }
}
define('AbortController', AbortController)

// ---------------------------------------------------------------- timers and scheduling

const intervals = new Map()
let nextInterval = 1
function setInterval(callback, ms = 0, ...args) {
    if (typeof callback !== 'function') throw new TypeError('setInterval: the callback must be a function')
    const id = -(nextInterval++)
    const tick = () => {
        intervals.set(id, nativeSetTimeout(tick, ms, ...args))
        callback(...args)
    }
    intervals.set(id, nativeSetTimeout(tick, ms))
    return id
}
function clearTimer(id) {
    if (intervals.has(id)) {
        nativeClearTimeout(intervals.get(id))
        intervals.delete(id)
    } else {
        nativeClearTimeout(id)
    }
}
define('setInterval', setInterval)
define('clearInterval', clearTimer)
define('clearTimeout', clearTimer)
// A microtask's callback: what throws is reported, as browsers do, and the queue goes on.
function runMicrotask(callback) {
    try { callback() } catch (error) { reportError(error) }
}
define('queueMicrotask', (callback) => {
    if (typeof callback !== 'function') throw new TypeError('queueMicrotask: the callback must be a function')
    host.defer(runMicrotask, callback)
})

const timeOrigin = Date.now() - host.now()
define('performance', { now: () => host.now(), timeOrigin, toJSON: () => ({ timeOrigin }) })

// ---------------------------------------------------------------- structuredClone, base64, crypto

function structuredClone(value, seen = new Map()) {
    if (typeof value === 'function' || typeof value === 'symbol') {
        throw new DOMException(`${String(value.name || value.toString())} could not be cloned.`, 'DataCloneError')
    }
    if (typeof value !== 'object' || value === null) return value
    if (seen.has(value)) return seen.get(value)
    let copy
    if (value instanceof Date) copy = new Date(value.getTime())
    else if (value instanceof RegExp) copy = new RegExp(value.source, value.flags)
    else if (value instanceof ArrayBuffer) copy = value.slice(0)
    else if (value instanceof DataView) copy = new DataView(value.buffer.slice(0), value.byteOffset, value.byteLength)
    else if (ArrayBuffer.isView(value)) copy = new value.constructor(value)
    else if (value instanceof Boolean || value instanceof Number || value instanceof String) copy = Object(value.valueOf())
    else if (isError(value)) {
        const Ctor = [EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].find((c) => c.name === value.name) || Error
        copy = new Ctor(value.message)
        if (value.stack) copy.stack = value.stack
    }
    else if (value instanceof Map) {
        copy = new Map()
        seen.set(value, copy)
        for (const [k, v] of value) copy.set(structuredClone(k, seen), structuredClone(v, seen))
        return copy
    } else if (value instanceof Set) {
        copy = new Set()
        seen.set(value, copy)
        for (const v of value) copy.add(structuredClone(v, seen))
        return copy
    } else if (Array.isArray(value)) {
        copy = new Array(value.length)
        seen.set(value, copy)
        for (const key of Object.keys(value)) copy[key] = structuredClone(value[key], seen)
        return copy
    } else if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof EventTarget) {
        throw new DOMException(`${constructorName(value)} object could not be cloned.`, 'DataCloneError')
    } else {
        copy = {}
        seen.set(value, copy)
        for (const key of Object.keys(value)) copy[key] = structuredClone(value[key], seen)
        return copy
    }
    seen.set(value, copy)
    return copy
}
define('structuredClone', (value) => structuredClone(value))

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
function bytesToBase64(bytes, alphabet = B64, pad = true) {
    let out = ''
    let i = 0
    for (; i + 2 < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2]
        out += alphabet[n >> 18] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63]
    }
    if (i < bytes.length) {
        const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8)
        out += alphabet[n >> 18] + alphabet[(n >> 12) & 63]
        out += i + 1 < bytes.length ? alphabet[(n >> 6) & 63] : (pad ? '=' : '')
        if (pad) out += '='
    }
    return out
}
// The forgiving-base64 decode of the HTML standard; `null` when `text` is not base64.
function base64ToBytes(text, urlSafe = false) {
    text = text.replace(/[\t\n\f\r ]/g, '')
    if (urlSafe) text = text.replace(/-/g, '+').replace(/_/g, '/')
    if (text.length % 4 === 0) text = text.replace(/==?$/, '')
    if (text.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(text)) return null
    const out = new Uint8Array(Math.floor(text.length * 3 / 4))
    let bits = 0, value = 0, j = 0
    for (let i = 0; i < text.length; i++) {
        value = (value << 6) | B64.indexOf(text[i])
        bits += 6
        if (bits >= 8) { bits -= 8; out[j++] = (value >> bits) & 255 }
    }
    return out
}
define('btoa', (data) => {
    const text = String(data)
    const bytes = new Uint8Array(text.length)
    for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i)
        if (code > 255) throw new DOMException('Invalid character', 'InvalidCharacterError')
        bytes[i] = code
    }
    return bytesToBase64(bytes)
})
define('atob', (data) => {
    const bytes = base64ToBytes(String(data))
    if (bytes === null) throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError')
    let out = ''
    for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i])
    return out
})

const crypto = {
    getRandomValues(array) {
        if (!ArrayBuffer.isView(array) || array instanceof DataView || array instanceof Float32Array || array instanceof Float64Array) {
            throw new DOMException('crypto.getRandomValues: the argument must be an integer typed array', 'TypeMismatchError')
        }
        if (array.byteLength > 65536) {
            throw new DOMException(`crypto.getRandomValues: ${array.byteLength} bytes asked, at most 65536 at once`, 'QuotaExceededError')
        }
        new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(new Uint8Array(host.randomBytes(array.byteLength)))
        return array
    },
    randomUUID() {
        const b = new Uint8Array(host.randomBytes(16))
        b[6] = (b[6] & 0x0f) | 0x40
        b[8] = (b[8] & 0x3f) | 0x80
        const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    },
    get subtle() { return loadExtras().subtle },
}
define('crypto', crypto)

// ---------------------------------------------------------------- URL, URLSearchParams

const URL_PARTS = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash']

class URLSearchParams {
    #list = []; #url = null
    constructor(init = '') {
        if (init instanceof URLSearchParams) {
            this.#list = init.#list.map(([n, v]) => [n, v])
        } else if (typeof init === 'object' && init !== null) {
            if (typeof init[Symbol.iterator] === 'function') {
                for (const pair of init) {
                    const items = [...pair]
                    if (items.length !== 2) throw new TypeError('URLSearchParams: each pair must have exactly two items')
                    this.#list.push([String(items[0]), String(items[1])])
                }
            } else {
                for (const key of Object.keys(init)) this.#list.push([key, String(init[key])])
            }
        } else {
            let text = String(init)
            if (text.startsWith('?')) text = text.slice(1)
            this.#list = host.formParse(text)
        }
    }
    static _attach(params, url, search) {
        params.#url = url
        params.#list = host.formParse(search.replace(/^\?/, ''))
    }
    #update() { if (this.#url) this.#url._setSearchFromParams(this.toString()) }
    get size() { return this.#list.length }
    append(name, value) { this.#list.push([String(name), String(value)]); this.#update() }
    delete(name, value) {
        name = String(name)
        this.#list = this.#list.filter(([n, v]) => n !== name || (value !== undefined && v !== String(value)))
        this.#update()
    }
    get(name) { const found = this.#list.find(([n]) => n === String(name)); return found ? found[1] : null }
    getAll(name) { return this.#list.filter(([n]) => n === String(name)).map(([, v]) => v) }
    has(name, value) {
        return this.#list.some(([n, v]) => n === String(name) && (value === undefined || v === String(value)))
    }
    set(name, value) {
        name = String(name)
        const index = this.#list.findIndex(([n]) => n === name)
        if (index < 0) this.#list.push([name, String(value)])
        else {
            this.#list[index][1] = String(value)
            this.#list = this.#list.filter(([n], i) => n !== name || i === index)
        }
        this.#update()
    }
    sort() {
        // Stable, by UTF-16 code units (what `<` compares).
        this.#list = this.#list.map((pair, i) => [pair, i])
            .sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j)).map(([pair]) => pair)
        this.#update()
    }
    forEach(callback, thisArg) { for (const [n, v] of this.#list) callback.call(thisArg, v, n, this) }
    keys() { return this.#list.map(([n]) => n)[Symbol.iterator]() }
    values() { return this.#list.map(([, v]) => v)[Symbol.iterator]() }
    entries() { return this.#list.map(([n, v]) => [n, v])[Symbol.iterator]() }
    [Symbol.iterator]() { return this.entries() }
    toString() { return host.formSerialize(this.#list) }
    [INSPECT]() { return `URLSearchParams {${this.#list.map(([n, v]) => ` ${quote(n)} => ${quote(v)}`).join(',')} }` }
}
define('URLSearchParams', URLSearchParams)

class URL {
    // The parsed URL lives on the host (`#record`, a UrlRecord): each component is made as a
    // string only when read. The search params are made when first asked for.
    #record; #params = null
    constructor(input, base) {
        const text = String(input)
        const record = base === undefined ? host.urlRecord(text) : host.urlRecord(text, String(base))
        if (record == null) {
            const error = new TypeError(base === undefined ? `Invalid URL: ${text}` : `Invalid URL: ${text} (base ${base})`)
            error.code = 'ERR_INVALID_URL'
            error.input = text
            throw error
        }
        this.#record = record
    }
    static _get(url, index) { return url.#record.get(index) }
    static _set(url, part, value) { url.#set(part, value) }
    static canParse(input, base) {
        return (base === undefined ? host.urlRecord(String(input)) : host.urlRecord(String(input), String(base))) != null
    }
    static parse(input, base) {
        try { return new URL(input, base) } catch (e) { return null }
    }
    #set(part, value) {
        if (!this.#record.set(part, String(value))) throw new TypeError(`Invalid URL: ${value}`)
        if (this.#params !== null && (part === 'href' || part === 'search')) URLSearchParams._attach(this.#params, this, this.#record.get(9))
    }
    _setSearchFromParams(query) {
        this.#record.set('search', query)
        if (query === '') this.#record.set('search', '')
    }
    get searchParams() {
        if (this.#params === null) {
            this.#params = new URLSearchParams()
            URLSearchParams._attach(this.#params, this, this.#record.get(9))
        }
        return this.#params
    }
    toString() { return this.#record.get(0) }
    toJSON() { return this.#record.get(0) }
    [INSPECT](depth, options) {
        const shown = {}
        for (const part of URL_PARTS) shown[part] = this[part]
        return 'URL ' + inspect(shown, options, 0, [], 0).replace(/^\{/, '{')
    }
}
URL_PARTS.forEach((part, index) => {
    const descriptor = { get() { return URL._get(this, index) }, enumerable: true, configurable: true }
    if (part !== 'origin') descriptor.set = function (value) { URL._set(this, part, value) }
    Object.defineProperty(URL.prototype, part, descriptor)
})
define('URL', URL)

// ---------------------------------------------------------------- Headers

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Names that passed TOKEN, so a server's usual fields skip the regex (QuickJS runs one in
// about 0.4 µs, a Set lookup in 0.1); bounded so hostile input cannot grow it.
const VALID_NAMES = new Set()
function validName(name) {
    if (VALID_NAMES.has(name)) return true
    if (!TOKEN.test(name)) return false
    if (VALID_NAMES.size < 1024) VALID_NAMES.add(name)
    return true
}
// Fetch's "normalize": leading and trailing HTTP whitespace removed.
function normalizeValue(value) {
    value = String(value)
    const first = value.charCodeAt(0), last = value.charCodeAt(value.length - 1)
    if (first > 32 && last > 32) return value
    return value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '')
}
function checkField(name, value, what) {
    if (!validName(name)) throw new TypeError(`Headers.${what}: "${name}" is an invalid header name.`)
    if (/[\0\r\n]/.test(value)) throw new TypeError(`Headers.${what}: "${value}" is an invalid header value.`)
}
function checkName(name, what) {
    if (!validName(name)) throw new TypeError(`Headers.${what}: "${name}" is an invalid header name.`)
}

// Plain loops rather than filter/some with destructuring closures: this is every request's
// path, and QuickJS interprets each closure call.
class Headers {
    #list = []; #guard = 'none'
    constructor(init) {
        if (init === undefined || init === null) return
        if (init instanceof Headers) {
            for (const [n, v] of init.#list) this.#list.push([n, v])
        } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
            for (const pair of init) {
                const items = [...pair]
                if (items.length !== 2) throw new TypeError('Headers: each header must be a [name, value] pair')
                this.append(items[0], items[1])
            }
        } else if (typeof init === 'object') {
            for (const key of Object.keys(init)) this.append(key, init[key])
        } else {
            throw new TypeError('Headers: expected an object, an iterable of pairs or a Headers')
        }
    }
    static _immutable(headers) { headers.#guard = 'immutable'; return headers }
    static _pairs(headers) { return headers.#list.map(([n, v]) => [n, v]) }
    // The list itself, for the host to read at once (no copy).
    static _list(headers) { return headers.#list }
    // Headers over `list`, pairs of a lowercase valid name and a normalized value that the
    // host's HTTP parser has already checked (wasock rejects what Fetch would).
    static _trusted(list) { const headers = new Headers(); headers.#list = list; return headers }
    // A body's implied content type, added by the constructors when none was given.
    static _defaultType(headers, type) {
        if (headers.#index('content-type') < 0) headers.#list.push(['content-type', type])
    }
    #check(what) {
        if (this.#guard === 'immutable') throw new TypeError(`Headers.${what}: the headers are immutable`)
    }
    #index(lower) {
        const list = this.#list
        for (let i = 0; i < list.length; i++) if (list[i][0] === lower) return i
        return -1
    }
    append(name, value) {
        name = String(name); value = normalizeValue(value)
        checkField(name, value, 'append')
        this.#check('append')
        this.#list.push([name.toLowerCase(), value])
    }
    delete(name) {
        name = String(name)
        checkName(name, 'delete')
        this.#check('delete')
        const lower = name.toLowerCase()
        if (this.#index(lower) >= 0) this.#list = this.#list.filter(([n]) => n !== lower)
    }
    get(name) {
        name = String(name)
        checkName(name, 'get')
        const lower = name.toLowerCase()
        const list = this.#list
        let found = null
        for (let i = 0; i < list.length; i++) {
            if (list[i][0] === lower) found = found === null ? list[i][1] : found + ', ' + list[i][1]
        }
        return found
    }
    getSetCookie() { return this.#list.filter(([n]) => n === 'set-cookie').map(([, v]) => v) }
    has(name) {
        name = String(name)
        checkName(name, 'has')
        return this.#index(name.toLowerCase()) >= 0
    }
    set(name, value) {
        name = String(name); value = normalizeValue(value)
        checkField(name, value, 'set')
        this.#check('set')
        const lower = name.toLowerCase()
        const index = this.#index(lower)
        if (index < 0) { this.#list.push([lower, value]); return }
        this.#list[index] = [lower, value]
        this.#list = this.#list.filter(([n], i) => n !== lower || i === index)
    }
    // Fetch's "sort and combine": names sorted, values of one name joined with ", ", except
    // set-cookie, which is never combined.
    #sorted() {
        const names = [...new Set(this.#list.map(([n]) => n))].sort()
        const out = []
        for (const name of names) {
            if (name === 'set-cookie') for (const value of this.getSetCookie()) out.push([name, value])
            else out.push([name, this.get(name)])
        }
        return out
    }
    forEach(callback, thisArg) { for (const [n, v] of this.#sorted()) callback.call(thisArg, v, n, this) }
    keys() { return this.#sorted().map(([n]) => n)[Symbol.iterator]() }
    values() { return this.#sorted().map(([, v]) => v)[Symbol.iterator]() }
    entries() { return this.#sorted()[Symbol.iterator]() }
    [Symbol.iterator]() { return this.entries() }
    [INSPECT]() {
        const pairs = this.#sorted()
        return pairs.length ? `Headers { ${pairs.map(([n, v]) => `${keyText(n)}: ${quote(v)}`).join(', ')} }` : 'Headers {}'
    }
}
define('Headers', Headers)

// ---------------------------------------------------------------- lazily evaluated globals

// Globals that most scripts never touch are evaluated on first use, so that start-up does
// not pay for parsing them: `lazy.js` (crypto.subtle, Blob, File, FormData, the text stream
// classes) and the vendored web-streams-polyfill (web/vendor/, 65 KB). Each global is an
// accessor until then; assigning one replaces it, and loading leaves assigned globals alone.
// Returns what installs the loaded values.
function lazyGlobals(names, load) {
    const getters = {}
    for (const name of names) {
        getters[name] = () => load()[name]
        Object.defineProperty(g, name, {
            get: getters[name],
            set(value) { define(name, value) },
            configurable: true,
            enumerable: false,
        })
    }
    return (loaded) => {
        for (const name of names) {
            const descriptor = Object.getOwnPropertyDescriptor(g, name)
            if (descriptor && descriptor.get === getters[name]) define(name, loaded[name])
        }
    }
}

let extras = null
const settleExtras = lazyGlobals(['Blob', 'File', 'FormData', 'CryptoKey', 'SubtleCrypto'], loadExtras)
function loadExtras() {
    if (extras !== null) return extras
    extras = host.extras()(host, {
        encoder, decoder, inspect, quote, constructorName, INSPECT, DOMException, Headers,
        bufferSourceBytes, concatBytes, base64ToBytes, bytesToBase64, B64, loadStreams,
    })
    settleExtras(extras)
    return extras
}

// WHATWG Streams: web-streams-polyfill 4.3.0, plus the Encoding Standard's stream classes.
let streams = null
const settleStreams = lazyGlobals(['ReadableStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader',
    'ReadableStreamBYOBRequest', 'ReadableStreamDefaultController', 'ReadableByteStreamController',
    'WritableStream', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController', 'TransformStream',
    'TransformStreamDefaultController', 'ByteLengthQueuingStrategy', 'CountQueuingStrategy',
    'TextEncoderStream', 'TextDecoderStream'], loadStreams)
function loadStreams() {
    if (streams !== null) return streams
    const loaded = host.streams()
    streams = { ...loaded, ...loadExtras().streamExtras(loaded) }
    settleStreams(streams)
    return streams
}

// A BufferSource's bytes (a view on them, not a copy).
function bufferSourceBytes(value, what) {
    if (value instanceof ArrayBuffer) return new Uint8Array(value)
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    throw new TypeError(`${what}: expected an ArrayBuffer or a typed array, got ${inspect(value, { depth: 0 })}`)
}

const isStream = (value) => typeof value === 'object' && value !== null && typeof value.getReader === 'function'
const disturbed = (stream) => stream._disturbed === true || (stream.locked && stream._disturbed === undefined)

// All the bytes of `stream` (its chunks must be bytes, as Fetch requires), read to its end.
async function readStream(stream, what) {
    const reader = stream.getReader()
    const chunks = []
    try {
        for (;;) {
            const { done, value } = await reader.read()
            if (done) break
            if (!(value instanceof Uint8Array)) {
                if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
                    chunks.push(bufferSourceBytes(value, what).slice())
                    continue
                }
                const error = new TypeError(`${what}: a body stream gave a chunk that is not bytes (${inspect(value, { depth: 0 })}); ` +
                    'help: enqueue Uint8Arrays, e.g. new TextEncoder().encode(text), or pipe text through a TextEncoderStream')
                reader.cancel(error).catch(() => {})
                throw error
            }
            chunks.push(value)
        }
    } finally {
        try { reader.releaseLock() } catch (e) { }
    }
    return chunks.length === 1 ? chunks[0] : concatBytes(chunks)
}

function concatBytes(chunks) {
    let length = 0
    for (const chunk of chunks) length += chunk.length
    const out = new Uint8Array(length)
    let at = 0
    for (const chunk of chunks) { out.set(chunk, at); at += chunk.length }
    return out
}

// ---------------------------------------------------------------- bodies, Request, Response

// A body as `[bytes, content type, stream]`: bytes (or a string, encoded only when read: the
// host takes strings as UTF-8, lone surrogates as U+FFFD) for everything but a ReadableStream, which stays a stream
// until it is read (to its end: requests and responses go out whole). Callers index the
// result: QuickJS destructures through the iterator protocol, and this is every Response's
// path.
function extractBody(body) {
    if (body === undefined || body === null) return [null, null, null]
    if (typeof body === 'string') return [body, 'text/plain;charset=UTF-8', null]
    if (body instanceof URLSearchParams) return [encoder.encode(body.toString()), 'application/x-www-form-urlencoded;charset=UTF-8', null]
    if (body instanceof ArrayBuffer) return [new Uint8Array(body.slice(0)), null, null]
    if (ArrayBuffer.isView(body)) return [new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), null, null]
    // A Blob or FormData exists only once lazy.js is loaded.
    if (extras !== null && body instanceof extras.Blob) return [extras.Blob._bytes(body), body.type || null, null]
    if (extras !== null && body instanceof extras.FormData) {
        const [bytes, type] = extras.FormData._multipart(body)
        return [bytes, type, null]
    }
    if (isStream(body)) {
        if (body.locked || disturbed(body)) throw new TypeError('the body ReadableStream is locked or has been read from; help: pass a stream nobody has read')
        return [null, null, body]
    }
    if (typeof body[Symbol.asyncIterator] === 'function') {
        throw new TypeError('an async iterable is not a body; help: wrap it in ReadableStream.from(iterable)')
    }
    return [String(body), 'text/plain;charset=UTF-8', null]
}

const BODY = Symbol('body')
const STREAM = Symbol('stream')
const USED = Symbol('bodyUsed')
const TIMEOUT = Symbol('timeout')
class Body {
    // The body as a ReadableStream of Uint8Arrays (null without a body), made on first use.
    get body() {
        if (this[STREAM]) return this[STREAM]
        if (this[BODY] === null || this[BODY] === undefined) return null
        const bytes = typeof this[BODY] === 'string' ? encoder.encode(this[BODY]) : this[BODY]
        const used = this[USED]
        this[BODY] = null
        const { ReadableStream } = loadStreams()
        this[STREAM] = new ReadableStream({
            type: 'bytes',
            start(controller) {
                if (!used && bytes.length) controller.enqueue(bytes.slice())
                controller.close()
            },
        })
        return this[STREAM]
    }
    get bodyUsed() { return this[USED] || (!!this[STREAM] && disturbed(this[STREAM])) }
    // The whole body's bytes (`null` without a body), marking it used.
    _consume(what) {
        if (this.bodyUsed) return Promise.reject(new TypeError(`${what}: Body is unusable: Body has already been read`))
        const stream = this[STREAM]
        if (stream) {
            if (stream.locked) return Promise.reject(new TypeError(`${what}: the body's ReadableStream is locked to a reader; help: read the body through that reader, or release its lock`))
            this[USED] = true
            return readStream(stream, what)
        }
        const body = this[BODY]
        this[USED] = body !== null
        return Promise.resolve(body === null ? new Uint8Array(0) : typeof body === 'string' ? encoder.encode(body) : body)
    }
    arrayBuffer() { return this._consume('arrayBuffer').then((bytes) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) }
    bytes() { return this._consume('bytes').then((bytes) => new Uint8Array(bytes)) }
    text() { return this._consume('text').then((bytes) => decoder.decode(bytes)) }
    json() { return this.text().then((text) => JSON.parse(text)) }
    blob() {
        const type = this.headers.get('content-type') || ''
        return this._consume('blob').then((bytes) => new (loadExtras().Blob)([bytes], { type }))
    }
    formData() {
        const type = this.headers.get('content-type') || ''
        return this._consume('formData').then((bytes) => loadExtras().FormData._parse(bytes, type))
    }
}

const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']
function normalizeMethod(method) {
    method = String(method)
    if (!TOKEN.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`)
    const upper = method.toUpperCase()
    if (['CONNECT', 'TRACE', 'TRACK'].includes(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`)
    return METHODS.includes(upper) ? upper : method
}

const INCOMING = Symbol('incoming')
class Request extends Body {
    #method; #url; #headers; #signal; #redirect; #controller
    constructor(input, init = {}) {
        super()
        if (input === INCOMING) {
            this.#redirect = 'follow'
            this.#signal = null
            this.#controller = null
            this[USED] = false
            return
        }
        let source = null
        if (input instanceof Request) {
            source = input
            this.#url = input.url
            this.#method = input.method
            this.#headers = new Headers(input.headers)
            this.#redirect = input.redirect
            this.#signal = input.signal
        } else {
            let parsed
            try { parsed = new URL(String(input)) } catch (e) {
                throw new TypeError(`Failed to parse URL from ${String(input)}`)
            }
            if (parsed.username || parsed.password) throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${input}`)
            this.#url = parsed.href
            this.#method = 'GET'
            this.#headers = new Headers()
            this.#redirect = 'follow'
            this.#signal = null
        }
        if (init === null || typeof init !== 'object') init = {}
        if (init.method !== undefined) this.#method = normalizeMethod(init.method)
        if (init.headers !== undefined) this.#headers = new Headers(init.headers)
        if (init.redirect !== undefined) {
            if (!['follow', 'error', 'manual'].includes(init.redirect)) throw new TypeError(`Request: '${init.redirect}' is not a valid redirect mode`)
            this.#redirect = init.redirect
        }
        const signal = init.signal !== undefined ? init.signal : this.#signal
        // Without a signal to follow, the controller is made when `signal` is first read.
        this.#controller = null
        if (signal) {
            this.#controller = new AbortController()
            if (signal.aborted) this.#controller.abort(signal.reason)
            else signal.addEventListener('abort', () => this.#controller.abort(signal.reason), { once: true })
        }
        this.#signal = signal || null
        let body = null
        let stream = null
        if (init.body !== undefined && init.body !== null) {
            const [bytes, type, given] = extractBody(init.body)
            body = bytes
            stream = given
            if (type) Headers._defaultType(this.#headers, type)
        } else if (source && init.body === undefined) {
            if (source.bodyUsed) throw new TypeError('Request: the body of the source Request has already been read')
            body = source[BODY]
            // A stream moves to the new Request, and the source's body counts as used (Fetch).
            stream = source[STREAM] || null
            if (stream) source[USED] = true
        }
        if ((body !== null || stream !== null) && (this.#method === 'GET' || this.#method === 'HEAD')) {
            throw new TypeError('Request with GET/HEAD method cannot have body.')
        }
        this[BODY] = body
        if (stream !== null) this[STREAM] = stream
        this[USED] = false
        this[TIMEOUT] = init.timeout
    }
    // A request the server received: `url` already serialized by the host's WHATWG parser,
    // `headers` trusted (Headers._trusted), `body` bytes or null. Skips the constructor's
    // checks, which the host's HTTP parser has made, because it runs for every request.
    static _incoming(url, method, headers, body) {
        const request = new Request(INCOMING)
        request.#url = url
        request.#method = method
        request.#headers = headers
        request[BODY] = body
        return request
    }
    get method() { return this.#method }
    get url() { return this.#url }
    get headers() { return this.#headers }
    get signal() { return (this.#controller ??= new AbortController()).signal }
    get redirect() { return this.#redirect }
    get cache() { return 'default' }
    get credentials() { return 'same-origin' }
    get mode() { return 'cors' }
    get destination() { return '' }
    get referrer() { return 'about:client' }
    get integrity() { return '' }
    get keepalive() { return false }
    clone() {
        if (this.bodyUsed || (this[STREAM] && this[STREAM].locked)) throw new TypeError('Request.clone: Body has already been consumed.')
        if (!this[STREAM]) return new Request(this)
        const [mine, theirs] = this[STREAM].tee()
        this[STREAM] = mine
        return new Request(this, { body: theirs })
    }
    [INSPECT](depth, options) {
        return 'Request ' + inspect({ method: this.#method, url: this.#url, headers: this.#headers, bodyUsed: this.bodyUsed }, options)
    }
}
define('Request', Request)

const NULL_BODY = [101, 103, 204, 205, 304]
const REDIRECTS = [301, 302, 303, 307, 308]
// Without `init.headers`, the Headers object is made when first read: a handler's usual
// `new Response(text)` then costs no Headers at all (`_list` gives the host its pairs).
// `#meta` is `{ type, url, redirected }` for responses that are not the 'default' kind.
class Response extends Body {
    #status; #statusText; #headers = null; #pendingType = null; #meta = null
    constructor(body = null, init = {}) {
        super()
        if (init === null || typeof init !== 'object') init = {}
        const status = init.status === undefined ? 200 : Number(init.status)
        if (!Number.isInteger(status) || status < 200 || status > 599) {
            throw new RangeError(`Failed to construct 'Response': The status provided (${init.status}) is outside the range [200, 599].`)
        }
        const statusText = init.statusText === undefined ? '' : String(init.statusText)
        if (statusText !== '' && /[^\t\x20-\x7e\x80-\xff]/.test(statusText)) throw new TypeError(`Response: '${statusText}' is not a valid status text`)
        this.#status = status
        this.#statusText = statusText
        const extracted = extractBody(body)
        const bytes = extracted[0], type = extracted[1], stream = extracted[2]
        if ((bytes !== null || stream !== null) && status !== 200 && NULL_BODY.includes(status)) {
            throw new TypeError(`Response with null body status (${status}) cannot have body`)
        }
        if (init.headers !== undefined) {
            this.#headers = new Headers(init.headers)
            if (type) Headers._defaultType(this.#headers, type)
        } else {
            this.#pendingType = type
        }
        this[BODY] = bytes
        if (stream !== null) this[STREAM] = stream
        this[USED] = false
    }
    static _fetched(status, statusText, pairs, bytes, url, redirected) {
        const response = new Response(null, { status: 200 })
        response.#status = status
        response.#statusText = statusText
        response.#headers = Headers._immutable(new Headers(pairs))
        response.#meta = { type: 'basic', url, redirected }
        response[BODY] = new Uint8Array(bytes)
        return response
    }
    static json(data, init = {}) {
        const text = JSON.stringify(data)
        if (text === undefined) throw new TypeError('Response.json: the data is not JSON-serializable')
        if (!init || init.headers === undefined) {
            const response = new Response(text, init)
            response.#pendingType = 'application/json'
            return response
        }
        const headers = new Headers(init && init.headers)
        if (!headers.has('content-type')) headers.set('content-type', 'application/json')
        return new Response(text, { ...init, headers })
    }
    static redirect(url, status = 302) {
        const parsed = new URL(String(url))
        if (!REDIRECTS.includes(status)) throw new RangeError(`Response.redirect: ${status} is not a redirect status (301, 302, 303, 307, 308)`)
        return new Response(null, { status, headers: { location: parsed.href } })
    }
    static error() {
        const response = new Response(null, { status: 200 })
        response.#status = 0
        response.#meta = { type: 'error', url: '', redirected: false }
        response.#headers = Headers._immutable(new Headers())
        return response
    }
    get status() { return this.#status }
    get statusText() { return this.#statusText }
    get ok() { return this.#status >= 200 && this.#status <= 299 }
    get headers() {
        if (this.#headers === null) {
            this.#headers = new Headers()
            if (this.#pendingType !== null) Headers._defaultType(this.#headers, this.#pendingType)
        }
        return this.#headers
    }
    // The header pairs for the host to read at once (not copied).
    static _list(response) {
        if (response.#headers !== null) return Headers._list(response.#headers)
        return response.#pendingType === null ? [] : [['content-type', response.#pendingType]]
    }
    get type() { return this.#meta === null ? 'default' : this.#meta.type }
    get url() { return this.#meta === null ? '' : this.#meta.url }
    get redirected() { return this.#meta !== null && this.#meta.redirected }
    clone() {
        if (this.bodyUsed || (this[STREAM] && this[STREAM].locked)) throw new TypeError('Response.clone: Body has already been consumed.')
        const copy = new Response(null, { status: 200 })
        copy.#status = this.#status
        copy.#statusText = this.#statusText
        copy.#headers = new Headers(this.headers)
        if (this.#meta !== null) Headers._immutable(copy.#headers)
        copy.#meta = this.#meta
        if (this[STREAM]) {
            const [mine, theirs] = this[STREAM].tee()
            this[STREAM] = mine
            copy[STREAM] = theirs
        } else {
            copy[BODY] = this[BODY]
        }
        return copy
    }
    [INSPECT](depth, options) {
        return 'Response ' + inspect({ status: this.#status, statusText: this.#statusText, headers: this.headers, ok: this.ok, url: this.url, bodyUsed: this.bodyUsed }, options)
    }
}
define('Response', Response)

// ---------------------------------------------------------------- fetch

const MAX_REDIRECTS = 20
async function fetch(input, init) {
    let request = new Request(input, init)
    const signal = request.signal
    if (signal.aborted) throw signal.reason
    let url = request.url
    let method = request.method
    // Bodies go out whole: a stream is read to its end first.
    let body = request[STREAM] ? await request._consume('fetch') : request[BODY]
    let redirected = false
    for (let hop = 0; ; hop++) {
        const protocol = url.slice(0, url.indexOf(':') + 1)
        if (protocol !== 'http:' && protocol !== 'https:') {
            throw new TypeError(`fetch ${url}: the ${protocol} scheme is not supported; help: use an http:// or https:// URL`)
        }
        const headers = Headers._pairs(request.headers)
        if (!request.headers.has('user-agent')) headers.push(['user-agent', 'wasock-js'])
        if (!request.headers.has('accept')) headers.push(['accept', '*/*'])
        const [promise, id] = host.fetch(method, url, headers, body, request[TIMEOUT])
        const onAbort = () => host.abort(id)
        signal.addEventListener('abort', onAbort)
        let answer
        try {
            answer = await promise
        } catch (error) {
            if (signal.aborted) throw signal.reason
            throw error
        } finally {
            signal.removeEventListener('abort', onAbort)
        }
        const [status, statusText, pairs, bytes] = answer
        const location = REDIRECTS.includes(status) ? pairs.find(([n]) => n === 'location') : undefined
        if (location && request.redirect !== 'manual') {
            if (request.redirect === 'error') throw new TypeError(`fetch ${url}: redirected (${status}) with redirect: 'error'`)
            if (hop >= MAX_REDIRECTS) throw new TypeError(`fetch ${request.url}: more than ${MAX_REDIRECTS} redirects`)
            url = new URL(location[1], url).href
            if (status === 303 && method !== 'HEAD' || (status === 301 || status === 302) && method === 'POST') {
                method = 'GET'
                body = null
            }
            redirected = true
            continue
        }
        return Response._fetched(status, statusText, pairs, bytes, url, redirected)
    }
}
define('fetch', fetch)

// ---------------------------------------------------------------- serving a fetch handler

const SERVE_DEFAULT_PORT = 8000
const INTERNAL_ERROR = [500, [['content-type', 'text/plain;charset=UTF-8']], 'Internal Server Error']

function handlerFailed(kind, error) {
    const text = isError(error) ? `${error.name || 'Error'}: ${error.message}` : inspect(error)
    host.write(2, `error: ${kind} failed: ${text.split('\n')[0]}\n`)
}

// The request a handler sees: its URL the full `http://host/path` from the Host field (or
// the address served on when the client sent none). `url` is that URL when the host could
// parse it; then the pairs come from its HTTP parser and are taken as they are.
function incomingRequest(local, method, target, pairs, body, parsed) {
    if (typeof parsed === 'string') {
        const bytes = body.byteLength > 0 && method !== 'GET' && method !== 'HEAD' ? new Uint8Array(body) : null
        if (method !== 'GET' && method !== 'POST') method = normalizeMethod(method)
        return Request._incoming(parsed, method, Headers._trusted(pairs), bytes)
    }
    const headers = new Headers()
    for (const [name, value] of pairs) headers.append(name, value)
    let url
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) url = target
    else url = `http://${headers.get('host') || local}${target.startsWith('/') ? target : '/' + target}`
    const init = { method, headers }
    if (body.byteLength > 0 && method !== 'GET' && method !== 'HEAD') init.body = body
    return new Request(url, init)
}

// Serves `handler.fetch(request, env, ctx)` (Deno, Bun and Workers' shape) on `PORT`, else
// `handler.port` (Bun's), else 8000 (Deno's), on every address (`handler.hostname` to
// choose); one `listening on` line.
function serveFetch(handler) {
    if (!handler || typeof handler.fetch !== 'function') throw new TypeError('serve: the handler has no fetch(request) method')
    const fromEnv = g.process && g.process.env.PORT
    const given = fromEnv !== undefined ? fromEnv : handler.port !== undefined ? handler.port : SERVE_DEFAULT_PORT
    const port = typeof given === 'string' && given.trim() === '' ? NaN : Number(typeof given === 'string' ? given.trim() : given)
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        const source = fromEnv !== undefined ? 'PORT' : 'the port'
        throw new RangeError(`${source} must be a number from 0 to 65535, got \`${given}\``)
    }
    const hostname = handler.hostname || '0.0.0.0'
    let local = ''
    const context = { waitUntil() {}, passThroughOnException() {} }
    const env = {}
    let reply
    const dispatch = async (method, target, pairs, body, url, id) => {
        try {
            const request = incomingRequest(local, method, target, pairs, body, url)
            const response = await handler.fetch(request, env, context)
            if (!(response instanceof Response)) {
                throw new TypeError(`the fetch handler must return a Response, got ${inspect(response, { depth: 0 })}`)
            }
            if (response.type === 'error') reply(id, ...INTERNAL_ERROR)
            else {
                // Responses go out whole: a stream is read to its end first.
                const bytes = response[STREAM] ? await response._consume("the fetch handler's Response body") : response[BODY]
                reply(id, response.status, Response._list(response), bytes)
            }
        } catch (error) {
            handlerFailed('fetch handler', error)
            reply(id, ...INTERNAL_ERROR)
        }
    }
    const [address, bound, , replyTo] = host.serve(hostname, port, dispatch, true)
    reply = replyTo
    local = `${address.includes(':') ? `[${address}]` : address}:${bound}`
    if (address === '0.0.0.0') local = `127.0.0.1:${bound}`
    return { hostname: address, port: bound }
}

const internals = { inspect, format, serveFetch, handlerFailed, errorText, BODY, base64ToBytes, bytesToBase64, host }
Object.defineProperty(g, Symbol.for('wasock.internals'), { value: internals })
})
