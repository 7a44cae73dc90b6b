// Node's basics for wasock-js (see node/mod.rs): `events`, `buffer`, `process` additions and
// `http` (createServer over wasock's server, request/get over fetch). Evaluated after the
// web prelude as a function expression called with its internals; keeps the modules on the
// global object under Symbol.for('wasock.node') for the module loader.
(function (internals) {
'use strict'
const g = globalThis
const { host, inspect, format, handlerFailed, base64ToBytes, bytesToBase64 } = internals
const define = (name, value) =>
    Object.defineProperty(g, name, { value, writable: true, configurable: true, enumerable: false })
const encoder = new TextEncoder()
const decoder = new TextDecoder()

// ---------------------------------------------------------------- events

// `_events` is made when the first listener is added: a server makes two emitters a request
// and most never get one.
class EventEmitter {
    constructor() { this._events = null; this._maxListeners = 10 }
    #list(name) {
        if (!this._events) this._events = new Map()
        let list = this._events.get(name)
        if (!list) { list = []; this._events.set(name, list) }
        return list
    }
    on(name, listener, prepend = false) {
        if (typeof listener !== 'function') throw new TypeError('The "listener" argument must be of type function')
        if (this._events && this._events.has('newListener')) this.emit('newListener', name, listener)
        const list = this.#list(name)
        if (prepend) list.unshift(listener); else list.push(listener)
        return this
    }
    addListener(name, listener) { return this.on(name, listener) }
    prependListener(name, listener) { return this.on(name, listener, true) }
    once(name, listener) {
        const wrapper = (...args) => { this.removeListener(name, wrapper); return listener.apply(this, args) }
        wrapper.listener = listener
        return this.on(name, wrapper)
    }
    prependOnceListener(name, listener) {
        const wrapper = (...args) => { this.removeListener(name, wrapper); return listener.apply(this, args) }
        wrapper.listener = listener
        return this.on(name, wrapper, true)
    }
    removeListener(name, listener) {
        const list = this._events && this._events.get(name)
        if (!list) return this
        const index = list.findIndex((l) => l === listener || l.listener === listener)
        if (index >= 0) list.splice(index, 1)
        if (list.length === 0) this._events.delete(name)
        return this
    }
    off(name, listener) { return this.removeListener(name, listener) }
    removeAllListeners(name) {
        if (!this._events) return this
        if (name === undefined) this._events.clear(); else this._events.delete(name)
        return this
    }
    emit(name, ...args) {
        const list = this._events && this._events.get(name)
        if (!list || list.length === 0) {
            if (name === 'error') {
                const error = args[0]
                throw error instanceof Error ? error : new Error(`Unhandled error. (${inspect(error)})`)
            }
            return false
        }
        for (const listener of list.slice()) listener.apply(this, args)
        return true
    }
    listenerCount(name) { return (this._events && this._events.get(name) || []).length }
    listeners(name) { return (this._events && this._events.get(name) || []).map((l) => l.listener || l) }
    rawListeners(name) { return (this._events && this._events.get(name) || []).slice() }
    eventNames() { return this._events ? [...this._events.keys()] : [] }
    setMaxListeners(n) { this._maxListeners = n; return this }
    getMaxListeners() { return this._maxListeners }
}
EventEmitter.EventEmitter = EventEmitter
EventEmitter.defaultMaxListeners = 10
EventEmitter.once = function once(emitter, name) {
    return new Promise((resolve, reject) => {
        const onError = (error) => { emitter.removeListener(name, onValue); reject(error) }
        const onValue = (...args) => { if (name !== 'error') emitter.removeListener('error', onError); resolve(args) }
        emitter.once(name, onValue)
        if (name !== 'error') emitter.once('error', onError)
    })
}
const events = EventEmitter

// ---------------------------------------------------------------- buffer

const ENCODINGS = ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii']
function checkEncoding(encoding) {
    if (encoding === 'utf8') return encoding
    const lower = String(encoding).toLowerCase()
    if (!ENCODINGS.includes(lower)) throw new TypeError(`Unknown encoding: ${encoding}`)
    return lower === 'utf-8' ? 'utf8' : lower === 'binary' ? 'latin1' : lower
}
function encode(text, encoding = 'utf8') {
    switch (checkEncoding(encoding)) {
        case 'utf8': return encoder.encode(text)
        case 'hex': {
            const bytes = new Uint8Array(text.length >> 1)
            for (let i = 0; i < bytes.length; i++) {
                const byte = parseInt(text.substr(i * 2, 2), 16)
                if (Number.isNaN(byte)) return bytes.subarray(0, i)
                bytes[i] = byte
            }
            return bytes
        }
        case 'base64': case 'base64url': return base64ToBytes(text.replace(/=+$/, ''), true) || new Uint8Array(0)
        case 'latin1': case 'ascii': return Uint8Array.from(text, (c) => c.charCodeAt(0) & 255)
    }
}

class Buffer extends Uint8Array {
    static from(value, encodingOrOffset, length) {
        if (typeof value === 'string') return Buffer._wrap(encode(value, encodingOrOffset))
        if (value instanceof ArrayBuffer) {
            const offset = encodingOrOffset || 0
            return new Buffer(value, offset, length === undefined ? value.byteLength - offset : length)
        }
        if (ArrayBuffer.isView(value)) return Buffer._wrap(new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)))
        if (Array.isArray(value)) return Buffer._wrap(Uint8Array.from(value))
        if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer._wrap(Uint8Array.from(value.data))
        throw new TypeError('The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object.')
    }
    static _wrap(bytes) { return new Buffer(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
    static alloc(size, fill, encoding) {
        const buffer = new Buffer(size)
        if (fill !== undefined && fill !== 0) buffer.fill(typeof fill === 'string' ? Buffer.from(fill, encoding)[0] : fill)
        return buffer
    }
    static allocUnsafe(size) { return new Buffer(size) }
    static isBuffer(value) { return value instanceof Buffer }
    static isEncoding(encoding) { return ENCODINGS.includes(String(encoding).toLowerCase()) }
    static byteLength(value, encoding = 'utf8') {
        if (typeof value !== 'string') return value.byteLength
        // Counted by the host, without making the bytes (a lone surrogate counts 3, as the
        // U+FFFD that encoding gives it).
        if (encoding === 'utf8') return host.utf8Length(value)
        return encode(value, encoding).byteLength
    }
    static concat(list, total) {
        if (total === undefined) total = list.reduce((sum, item) => sum + item.length, 0)
        const out = Buffer.alloc(total)
        let offset = 0
        for (const item of list) {
            if (offset >= total) break
            const part = item.subarray(0, total - offset)
            out.set(part, offset)
            offset += part.length
        }
        return out
    }
    static compare(a, b) { return a.compare(b) }
    toString(encoding = 'utf8', start = 0, end = this.length) {
        const bytes = this.subarray(start, end)
        switch (checkEncoding(encoding)) {
            case 'utf8': return decoder.decode(bytes)
            case 'hex': return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
            case 'base64': return bytesToBase64(bytes)
            case 'base64url': return bytesToBase64(bytes, undefined, false).replace(/\+/g, '-').replace(/\//g, '_')
            case 'latin1': return String.fromCharCode(...bytes)
            case 'ascii': return String.fromCharCode(...Array.from(bytes, (b) => b & 127))
        }
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) } }
    equals(other) { return this.compare(other) === 0 }
    compare(other) {
        const n = Math.min(this.length, other.length)
        for (let i = 0; i < n; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1
        return this.length === other.length ? 0 : this.length < other.length ? -1 : 1
    }
    slice(start, end) { return this.subarray(start, end) }
    subarray(start, end) { const view = Uint8Array.prototype.subarray.call(this, start, end); return new Buffer(view.buffer, view.byteOffset, view.byteLength) }
    write(text, offset = 0, length, encoding = 'utf8') {
        if (typeof offset === 'string') { encoding = offset; offset = 0 }
        const bytes = encode(text, encoding).subarray(0, Math.min(length ?? Infinity, this.length - offset))
        this.set(bytes, offset)
        return bytes.length
    }
    copy(target, targetStart = 0, start = 0, end = this.length) {
        const part = this.subarray(start, Math.min(end, start + target.length - targetStart))
        target.set(part, targetStart)
        return part.length
    }
    indexOf(value, from = 0) {
        if (typeof value === 'number') return Uint8Array.prototype.indexOf.call(this, value, from)
        const needle = typeof value === 'string' ? encoder.encode(value) : value
        outer: for (let i = from; i <= this.length - needle.length; i++) {
            for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer
            return i
        }
        return -1
    }
    includes(value, from) { return this.indexOf(value, from) !== -1 }
    readUInt8(offset = 0) { return this[offset] }
    readUInt16BE(offset = 0) { return (this[offset] << 8) | this[offset + 1] }
    readUInt32BE(offset = 0) { return ((this[offset] << 24) >>> 0) + ((this[offset + 1] << 16) | (this[offset + 2] << 8) | this[offset + 3]) }
    [Symbol.for('nodejs.util.inspect.custom')]() {
        const hex = Array.from(this.subarray(0, 50), (b) => b.toString(16).padStart(2, '0')).join(' ')
        return `<Buffer${hex ? ' ' + hex : ''}${this.length > 50 ? ` ... ${this.length - 50} more bytes` : ''}>`
    }
}
define('Buffer', Buffer)
const buffer = { Buffer, constants: { MAX_LENGTH: 2 ** 32 - 1 }, kMaxLength: 2 ** 32 - 1 }

// ---------------------------------------------------------------- process

const process = g.process
Object.setPrototypeOf(process, EventEmitter.prototype)
process._events = new Map()
process.nextTick = (callback, ...args) => queueMicrotask(() => callback(...args))
process.platform = 'wasi'
process.arch = 'wasm32'
process.version = 'v20.0.0'
process.versions = { node: '20.0.0', wasock: '0.1.0' }
process.release = { name: 'wasock-js' }
process.pid = 1
process.exitCode = undefined
process.cwd = () => '/'
process.uptime = () => host.now() / 1000
process.hrtime = (previous) => {
    const ns = Math.round(host.now() * 1e6)
    let seconds = Math.floor(ns / 1e9), nanos = ns % 1e9
    if (previous) { seconds -= previous[0]; nanos -= previous[1]; if (nanos < 0) { seconds--; nanos += 1e9 } }
    return [seconds, nanos]
}
process.hrtime.bigint = () => BigInt(Math.round(host.now() * 1e6))
process.memoryUsage = () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 })
const exit = process.exit
process.exit = (code) => {
    if (code === undefined) code = process.exitCode ?? 0
    try { process.emit('exit', code) } finally { exit(code) }
}
process.stdout = { write: (chunk) => { host.write(1, typeof chunk === 'string' ? chunk : decoder.decode(chunk)); return true }, isTTY: false }
process.stderr = { write: (chunk) => { host.write(2, typeof chunk === 'string' ? chunk : decoder.decode(chunk)); return true }, isTTY: false }
define('global', g)
define('setImmediate', (callback, ...args) => setTimeout(callback, 0, ...args))
define('clearImmediate', (id) => clearTimeout(id))

// ---------------------------------------------------------------- http

const STATUS_CODES = {
    100: 'Continue', 101: 'Switching Protocols', 102: 'Processing', 103: 'Early Hints',
    200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
    205: 'Reset Content', 206: 'Partial Content', 207: 'Multi-Status', 208: 'Already Reported', 226: 'IM Used',
    300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
    305: 'Use Proxy', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
    400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
    409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Payload Too Large',
    414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed',
    418: "I'm a Teapot", 421: 'Misdirected Request', 422: 'Unprocessable Entity', 423: 'Locked', 424: 'Failed Dependency',
    425: 'Too Early', 426: 'Upgrade Required', 428: 'Precondition Required', 429: 'Too Many Requests',
    431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
    500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
    504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 506: 'Variant Also Negotiates', 507: 'Insufficient Storage',
    508: 'Loop Detected', 509: 'Bandwidth Limit Exceeded', 510: 'Not Extended', 511: 'Network Authentication Required',
}
const METHODS = ['ACL', 'BIND', 'CHECKOUT', 'CONNECT', 'COPY', 'DELETE', 'GET', 'HEAD', 'LINK', 'LOCK', 'M-SEARCH',
    'MERGE', 'MKACTIVITY', 'MKCALENDAR', 'MKCOL', 'MOVE', 'NOTIFY', 'OPTIONS', 'PATCH', 'POST', 'PROPFIND',
    'PROPPATCH', 'PURGE', 'PUT', 'QUERY', 'REBIND', 'REPORT', 'SEARCH', 'SOURCE', 'SUBSCRIBE', 'TRACE', 'UNBIND',
    'UNLINK', 'UNLOCK', 'UNSUBSCRIBE']

// Node's header object from field pairs: lowercase names, repeats joined with ", ",
// set-cookie an array.
function headerObject(pairs) {
    const headers = {}
    const raw = []
    // Index loops, here and on the response's path: QuickJS destructures through the
    // iterator protocol, several times the cost of reading [0] and [1].
    for (let i = 0; i < pairs.length; i++) {
        const name = pairs[i][0], value = pairs[i][1]
        raw.push(name, value)
        const lower = name.toLowerCase()
        if (lower === 'set-cookie') (headers[lower] = headers[lower] || []).push(value)
        else headers[lower] = lower in headers ? `${headers[lower]}, ${value}` : value
    }
    return [headers, raw]
}

// A message whose whole body is known: 'data' then 'end' once someone reads (a 'data' or
// 'end' listener, resume(), or async iteration), as a paused Node stream starts flowing.
// `body` is an ArrayBuffer or a Buffer. Made for every request, so what most handlers never
// read is made on first use: `headers`, `rawHeaders`, `socket`, the body's Buffer; and the
// fields that start the same for all are the prototype's until assigned.
class IncomingMessage extends EventEmitter {
    #pairs; #body; #headers = null; #flowing = false; #encoding = null
    constructor(pairs, body) {
        super()
        this.#pairs = pairs
        this.#body = body
    }
    get headers() {
        if (this.#headers === null) this.#headers = headerObject(this.#pairs)[0]
        return this.#headers
    }
    set headers(value) { this.#headers = value }
    get rawHeaders() { return headerObject(this.#pairs)[1] }
    get socket() { return ownValue(this, 'socket', { remoteAddress: undefined, encrypted: false, setTimeout() {}, destroy() {} }) }
    set socket(value) { ownValue(this, 'socket', value) }
    get connection() { return this.socket }
    #chunk() {
        const body = this.#body
        if (body.byteLength === 0) return null
        const bytes = body instanceof Buffer ? body : Buffer.from(body)
        return this.#encoding ? bytes.toString(this.#encoding) : bytes
    }
    on(name, listener) {
        super.on(name, listener)
        if (name === 'data' || name === 'end' || name === 'readable') this.resume()
        return this
    }
    resume() {
        if (this.#flowing) return this
        this.#flowing = true
        queueMicrotask(() => {
            const chunk = this.#chunk()
            if (chunk !== null) this.emit('data', chunk)
            this.complete = true
            this.readable = false
            this.emit('end')
            this.emit('close')
        })
        return this
    }
    setEncoding(encoding) { this.#encoding = checkEncoding(encoding); return this }
    pause() { return this }
    read() { return null }
    setTimeout(ms, callback) { return this }
    destroy() { this.aborted = true; return this }
    pipe(destination) {
        this.on('data', (chunk) => destination.write(chunk))
        this.on('end', () => destination.end && destination.end())
        return destination
    }
    async *[Symbol.asyncIterator]() {
        this.#flowing = true
        const chunk = this.#chunk()
        if (chunk !== null) yield chunk
        this.complete = true
        this.readable = false
    }
}
Object.assign(IncomingMessage.prototype, {
    httpVersion: '1.1', httpVersionMajor: 1, httpVersionMinor: 1, complete: false, aborted: false, readable: true,
})

// Defines `name` on `object` as a plain own property (replacing the prototype's lazy
// accessor) and returns `value`.
function ownValue(object, name, value) {
    Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true })
    return value
}

function toBytes(chunk, encoding) {
    if (chunk === undefined || chunk === null) return new Uint8Array(0)
    if (typeof chunk === 'string') return encode(chunk, encoding || 'utf8')
    if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk)
    throw new TypeError('The "chunk" argument must be of type string or an instance of Buffer or Uint8Array')
}

// The response of Node's http server. The body is collected and goes out at end(), framed
// by Content-Length (wasock's server writes whole responses). As with IncomingMessage, the
// header map, the chunk list and `socket` are made on first use, and the flags start on the
// prototype.
// `name: value` as wire pairs (one per item of an array value).
function addPairs(pairs, name, value) {
    if (Array.isArray(value)) for (const item of value) pairs.push([name, String(item)])
    else pairs.push([name, String(value)])
}

class ServerResponse extends EventEmitter {
    #headers = null; #pairs = null; #chunks = null; #reply; #id
    // `reply(id, status, pairs, body)` sends the response (the host's, from `serve`).
    constructor(request, reply, id) {
        super()
        this.req = request
        this.statusCode = 200
        this.#reply = reply
        this.#id = id
    }
    get socket() { return ownValue(this, 'socket', this.req.socket) }
    set socket(value) { ownValue(this, 'socket', value) }
    get connection() { return this.socket }
    #map() { return this.#headers === null ? (this.#headers = new Map()) : this.#headers }
    setHeader(name, value) {
        if (this.headersSent) throw new Error('Cannot set headers after they are sent to the client')
        name = String(name)
        this.#map().set(name.toLowerCase(), [name, value])
        return this
    }
    getHeader(name) { const entry = this.#map().get(String(name).toLowerCase()); return entry && entry[1] }
    getHeaders() { const out = {}; for (const [lower, [, value]] of this.#map()) out[lower] = value; return out }
    getHeaderNames() { return [...this.#map().keys()] }
    hasHeader(name) { return this.#map().has(String(name).toLowerCase()) }
    removeHeader(name) { this.#map().delete(String(name).toLowerCase()) }
    appendHeader(name, value) {
        const previous = this.getHeader(name)
        const values = previous === undefined ? [] : Array.isArray(previous) ? previous : [previous]
        return this.setHeader(name, values.concat(value))
    }
    writeHead(status, message, headers) {
        if (this.headersSent) throw new Error('Cannot write headers after they are sent to the client')
        if (typeof message !== 'string') { headers = message; message = undefined }
        this.statusCode = status
        if (message !== undefined) this.statusMessage = message
        if (Array.isArray(headers)) {
            if (Array.isArray(headers[0])) for (const [n, v] of headers) this.appendHeader(n, v)
            else for (let i = 0; i + 1 < headers.length; i += 2) this.appendHeader(headers[i], headers[i + 1])
        } else if (headers && this.#headers === null) {
            // No setHeader before: the object's fields are the response's, as in Node (whose
            // getHeader then does not see them either), so they go straight to the wire's pairs.
            const pairs = []
            const names = Object.keys(headers)
            for (let i = 0; i < names.length; i++) addPairs(pairs, names[i], headers[names[i]])
            this.#pairs = pairs
        } else if (headers) {
            const names = Object.keys(headers)
            for (let i = 0; i < names.length; i++) this.setHeader(names[i], headers[names[i]])
        }
        this.headersSent = true
        return this
    }
    flushHeaders() { this.headersSent = true }
    write(chunk, encoding, callback) {
        if (typeof encoding === 'function') { callback = encoding; encoding = undefined }
        if (this.writableEnded) throw new Error('write after end')
        this.headersSent = true
        if (this.#chunks === null) this.#chunks = []
        this.#chunks.push(toBytes(chunk, encoding))
        if (callback) queueMicrotask(callback)
        return true
    }
    end(chunk, encoding, callback) {
        if (typeof chunk === 'function') { callback = chunk; chunk = undefined }
        if (typeof encoding === 'function') { callback = encoding; encoding = undefined }
        if (this.writableEnded) return this
        let body
        if (this.#chunks === null && typeof chunk === 'string' && (encoding === undefined || checkEncoding(encoding) === 'utf8')) {
            // One string: the host encodes it (lone surrogates as U+FFFD, as Buffer.from does).
            body = chunk
        } else {
            if (chunk !== undefined && chunk !== null) (this.#chunks ??= []).push(toBytes(chunk, encoding))
            body = this.#chunks === null ? null : this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks)
        }
        this.headersSent = true
        this.writableEnded = true
        this.finished = true
        let pairs = this.#pairs
        if (pairs === null) {
            pairs = []
            if (this.#headers !== null) for (const entry of this.#headers.values()) addPairs(pairs, entry[0], entry[1])
        }
        const status = Number(this.statusCode)
        this.#reply(this.#id, status, pairs, body)
        queueMicrotask(() => { this.writableFinished = true; this.emit('finish'); this.emit('close') })
        if (callback) queueMicrotask(callback)
        return this
    }
    setTimeout() { return this }
}
Object.assign(ServerResponse.prototype, {
    statusMessage: undefined, headersSent: false, writableEnded: false, writableFinished: false, finished: false, sendDate: true,
})

class Server extends EventEmitter {
    #address = null; #close = null
    constructor(options, listener) {
        super()
        if (typeof options === 'function') { listener = options; options = {} }
        if (listener) this.on('request', listener)
        this.listening = false
    }
    listen(...args) {
        let port = 0, hostname = '0.0.0.0', callback
        if (typeof args[args.length - 1] === 'function') callback = args.pop()
        if (typeof args[0] === 'object' && args[0] !== null) {
            port = args[0].port ?? 0
            hostname = args[0].host ?? hostname
        } else {
            if (args[0] !== undefined && args[0] !== null) port = Number(args[0])
            if (typeof args[1] === 'string') hostname = args[1]
        }
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`options.port should be >= 0 and < 65536. Received ${args[0]}.`)
        if (callback) this.once('listening', callback)
        let reply
        const dispatch = (method, target, pairs, body, url, id) => {
            const request = new IncomingMessage(pairs, body)
            request.method = method
            request.url = target
            const response = new ServerResponse(request, reply, id)
            // A listener that throws, or an async one that rejects, answers 500 (when it has
            // not answered yet) and the server goes on; Node would end the process.
            const fail = (error) => {
                handlerFailed('request handler', error)
                if (!response.writableEnded) {
                    response.writableEnded = true
                    reply(id, 500, [['content-type', 'text/plain']], 'Internal Server Error')
                }
            }
            // A copy when there are several: a `once` listener removes itself as it runs.
            const found = this._events === null ? undefined : this._events.get('request')
            const count = found === undefined ? 0 : found.length
            const listeners = count > 1 ? found.slice() : found
            for (let i = 0; i < count; i++) {
                const listener = listeners[i]
                try {
                    const result = listener.call(this, request, response)
                    if (result && typeof result.then === 'function') result.then(undefined, fail)
                } catch (error) {
                    fail(error)
                }
            }
        }
        try {
            const [address, bound, close, replyTo] = host.serve(hostname, port, dispatch, false)
            reply = replyTo
            this.#address = { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: bound }
            this.#close = close
        } catch (error) {
            error.code = /in use/i.test(error.message) ? 'EADDRINUSE' : error.code
            queueMicrotask(() => this.emit('error', error))
            return this
        }
        this.listening = true
        queueMicrotask(() => this.emit('listening'))
        return this
    }
    address() { return this.#address }
    close(callback) {
        if (this.#close) { this.#close(); this.#close = null }
        this.listening = false
        queueMicrotask(() => { this.emit('close'); if (callback) callback() })
        return this
    }
    setTimeout() { return this }
    closeAllConnections() {}
    closeIdleConnections() {}
}

function createServer(options, listener) { return new Server(options, listener) }

// A client request over fetch: the body collected by write(), sent at end().
class ClientRequest extends EventEmitter {
    #url; #options; #chunks = []; #controller = new AbortController()
    constructor(url, options, callback) {
        super()
        this.#url = url
        this.#options = options
        this.method = options.method || 'GET'
        this.path = url.pathname + url.search
        this.headers = {}
        for (const [name, value] of Object.entries(options.headers || {})) this.headers[name.toLowerCase()] = value
        if (callback) this.once('response', callback)
        this.aborted = false
    }
    setHeader(name, value) { this.headers[String(name).toLowerCase()] = value }
    getHeader(name) { return this.headers[String(name).toLowerCase()] }
    removeHeader(name) { delete this.headers[String(name).toLowerCase()] }
    write(chunk, encoding, callback) {
        this.#chunks.push(toBytes(chunk, typeof encoding === 'string' ? encoding : undefined))
        if (typeof encoding === 'function') queueMicrotask(encoding)
        else if (callback) queueMicrotask(callback)
        return true
    }
    end(chunk, encoding, callback) {
        if (typeof chunk === 'function') { callback = chunk; chunk = undefined }
        if (chunk !== undefined && chunk !== null) this.write(chunk, encoding)
        const body = this.#chunks.length ? Buffer.concat(this.#chunks) : undefined
        const init = { method: this.method, headers: this.headers, signal: this.#controller.signal, redirect: 'manual' }
        if (body !== undefined && this.method !== 'GET' && this.method !== 'HEAD') init.body = body
        if (this.#options.timeout) init.timeout = this.#options.timeout
        fetch(this.#url.href, init).then(async (answer) => {
            const pairs = [...answer.headers]
            const message = new IncomingMessage(pairs, Buffer.from(await answer.arrayBuffer()))
            message.statusCode = answer.status
            message.statusMessage = answer.statusText || STATUS_CODES[answer.status] || ''
            message.url = ''
            this.emit('response', message)
        }, (error) => {
            if (!this.listenerCount('error')) return handlerFailed('http.request', error)
            this.emit('error', error)
        })
        if (callback) queueMicrotask(callback)
        return this
    }
    abort() { this.aborted = true; this.#controller.abort() }
    destroy(error) { this.#controller.abort(); if (error) queueMicrotask(() => this.emit('error', error)); return this }
    setTimeout(ms, callback) { if (callback) this.once('timeout', callback); this.#options.timeout = ms; return this }
}

function requestArgs(input, options, callback) {
    if (typeof options === 'function') { callback = options; options = {} }
    let url
    if (typeof input === 'string' || input instanceof URL) {
        url = new URL(String(input))
        options = options || {}
    } else {
        options = { ...input, ...(options || {}) }
        const protocol = options.protocol || 'http:'
        const hostname = options.hostname || options.host || 'localhost'
        const port = options.port ? `:${options.port}` : ''
        url = new URL(`${protocol}//${hostname.includes(':') ? `[${hostname}]` : hostname}${port}${options.path || '/'}`)
    }
    return [url, options, callback]
}
function request(input, options, callback) { return new ClientRequest(...requestArgs(input, options, callback)) }
function get(input, options, callback) {
    const req = request(input, options, callback)
    req.end()
    return req
}

const http = {
    createServer, request, get, Server, IncomingMessage, ServerResponse, ClientRequest, STATUS_CODES, METHODS,
    Agent: class Agent { constructor(options) { this.options = options } }, globalAgent: {}, maxHeaderSize: 65536,
    fetch: g.fetch,
}

function fileURLToPath(url) {
    const parsed = url instanceof URL ? url : new URL(String(url))
    if (parsed.protocol !== 'file:') throw new TypeError('The URL must be of scheme file')
    return decodeURIComponent(parsed.pathname)
}
function pathToFileURL(path) { return new URL('file://' + encodeURI(String(path)).replace(/\?/g, '%3F').replace(/#/g, '%23')) }
const url = { URL, URLSearchParams, fileURLToPath, pathToFileURL }

const util = { inspect, format, inherits(ctor, parent) { Object.setPrototypeOf(ctor.prototype, parent.prototype) } }

Object.defineProperty(g, Symbol.for('wasock.node'), {
    value: { events, buffer, process, http, url, util },
})
})
