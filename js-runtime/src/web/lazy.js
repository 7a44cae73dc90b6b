// The web globals that most scripts never touch, evaluated on their first use (see the
// prelude's `lazyGlobals`) so that start-up does not pay for parsing them: `crypto.subtle`
// (`CryptoKey`, `SubtleCrypto`), `Blob`, `File`, `FormData` (with multipart/form-data) and the
// Encoding Standard's `TextEncoderStream`/`TextDecoderStream`. A function expression called
// with the host object and the prelude's shared helpers; returns the classes.
(function (host, shared) {
'use strict'
const {
    encoder, decoder, inspect, quote, constructorName, INSPECT, DOMException, Headers,
    bufferSourceBytes, concatBytes, base64ToBytes, bytesToBase64, B64, loadStreams,
} = shared

// ---------------------------------------------------------------- crypto.subtle

// WebCrypto's SubtleCrypto, the part apps use for tokens and checksums: SHA digests and HMAC
// (keys imported as raw bytes or JWK, generated, exported; sign and verify). The hashing is
// RustCrypto's (`sha1`, `sha2`, `hmac`) on the host (web/subtle.rs). Errors are WebCrypto's:
// rejected promises with a DOMException named as the spec says (NotSupportedError for an
// algorithm wasock-js lacks, InvalidAccessError for a key used outside its usages, …).
const SUBTLE_HELP = 'help: wasock-js has digest (SHA-1, SHA-256, SHA-384, SHA-512) and HMAC ' +
    '(importKey raw/jwk, generateKey, exportKey, sign, verify)'
// Block sizes in bits: HMAC's default key length (WebCrypto) and JWK's `alg` names (RFC 7518).
const HASHES = { 'SHA-1': [512, 'HS1'], 'SHA-256': [512, 'HS256'], 'SHA-384': [1024, 'HS384'], 'SHA-512': [1024, 'HS512'] }
const notSupported = (op, what) =>
    new DOMException(`crypto.subtle.${op}: ${what} is not supported by wasock-js; ${SUBTLE_HELP}`, 'NotSupportedError')

function algorithmOf(algorithm, op) {
    const object = typeof algorithm === 'string' ? { name: algorithm } : algorithm
    if (object === null || typeof object !== 'object' || typeof object.name !== 'string') {
        throw new TypeError(`crypto.subtle.${op}: the algorithm must be a name or an object with a name`)
    }
    return object
}
function hashOf(hash, op) {
    if (hash === undefined) throw new TypeError(`crypto.subtle.${op}: HMAC needs a hash (e.g. { name: 'HMAC', hash: 'SHA-256' })`)
    const name = algorithmOf(hash, op).name.toUpperCase()
    if (!HASHES[name]) throw notSupported(op, `the hash ${algorithmOf(hash, op).name}`)
    return name
}
function hmacOf(algorithm, op) {
    const object = algorithmOf(algorithm, op)
    if (object.name.toUpperCase() !== 'HMAC') throw notSupported(op, `the algorithm ${object.name}`)
    return object
}
function dataOf(value, op, what = 'the data') {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return bufferSourceBytes(value, op).slice()
    throw new TypeError(`crypto.subtle.${op}: ${what} must be an ArrayBuffer or a typed array (e.g. new TextEncoder().encode(text))`)
}

const KEY = Symbol('key')
const SECRET = new WeakMap()
class CryptoKey {
    #type; #extractable; #algorithm; #usages
    constructor(key, secret, algorithm, extractable, usages) {
        if (key !== KEY) throw new TypeError('CryptoKey cannot be constructed: use crypto.subtle.importKey or generateKey')
        this.#type = 'secret'
        this.#extractable = !!extractable
        this.#algorithm = Object.freeze({ name: 'HMAC', length: algorithm.length, hash: Object.freeze({ name: algorithm.hash }) })
        this.#usages = usages
        SECRET.set(this, secret)
    }
    get type() { return this.#type }
    get extractable() { return this.#extractable }
    get algorithm() { return this.#algorithm }
    get usages() { return this.#usages.slice() }
    get [Symbol.toStringTag]() { return 'CryptoKey' }
    [INSPECT](depth, options) {
        return 'CryptoKey ' + inspect({ type: this.#type, extractable: this.#extractable, algorithm: this.#algorithm, usages: this.#usages }, options)
    }
}

function usagesOf(usages, op) {
    if (usages === null || typeof usages !== 'object' || typeof usages[Symbol.iterator] !== 'function') {
        throw new TypeError(`crypto.subtle.${op}: keyUsages must be an array, e.g. ['sign', 'verify']`)
    }
    const list = [...new Set(Array.from(usages, String))]
    const bad = list.find((usage) => usage !== 'sign' && usage !== 'verify')
    if (bad !== undefined || list.length === 0) {
        throw new DOMException(`crypto.subtle.${op}: an HMAC key's usages are 'sign' and 'verify', got [${list.join(', ')}]`, 'SyntaxError')
    }
    return list
}
function keyFor(key, algorithm, usage, op) {
    if (!(key instanceof CryptoKey)) throw new TypeError(`crypto.subtle.${op}: the key must be a CryptoKey`)
    hmacOf(algorithm, op)
    if (!key.usages.includes(usage)) {
        throw new DOMException(`crypto.subtle.${op}: the key's usages [${key.usages.join(', ')}] do not include '${usage}'`, 'InvalidAccessError')
    }
    return SECRET.get(key)
}
function hmacKey(secret, algorithm, extractable, usages, op) {
    const hash = hashOf(algorithm.hash, op)
    let length = secret.length * 8
    if (algorithm.length !== undefined) {
        const asked = Number(algorithm.length)
        if (asked !== length) throw new DOMException(`crypto.subtle.${op}: length ${algorithm.length} does not match the key's ${length} bits`, 'DataError')
    }
    if (secret.length === 0) throw new DOMException(`crypto.subtle.${op}: an HMAC key cannot be empty`, 'DataError')
    return new CryptoKey(KEY, secret, { hash, length }, extractable, usages)
}

class SubtleCrypto {
    constructor(key) { if (key !== KEY) throw new TypeError('SubtleCrypto cannot be constructed: use crypto.subtle') }
    async digest(algorithm, data) {
        const name = algorithmOf(algorithm, 'digest').name.toUpperCase()
        if (!HASHES[name]) throw notSupported('digest', `the digest ${algorithmOf(algorithm, 'digest').name}`)
        return host.digest(name, dataOf(data, 'digest'))
    }
    async importKey(format, keyData, algorithm, extractable, keyUsages) {
        const hmac = hmacOf(algorithm, 'importKey')
        const usages = usagesOf(keyUsages, 'importKey')
        if (format === 'raw') return hmacKey(dataOf(keyData, 'importKey', 'the key data'), hmac, extractable, usages, 'importKey')
        if (format === 'jwk') {
            if (keyData === null || typeof keyData !== 'object' || keyData.kty !== 'oct' || typeof keyData.k !== 'string') {
                throw new DOMException("crypto.subtle.importKey: an HMAC JWK needs kty 'oct' and its key in k", 'DataError')
            }
            const hash = hashOf(hmac.hash, 'importKey')
            if (keyData.alg !== undefined && keyData.alg !== HASHES[hash][1]) {
                throw new DOMException(`crypto.subtle.importKey: the JWK's alg ${keyData.alg} is not ${HASHES[hash][1]} (the hash ${hash})`, 'DataError')
            }
            if (keyData.ext === false && extractable) throw new DOMException('crypto.subtle.importKey: the JWK is not extractable (ext: false)', 'DataError')
            const secret = base64ToBytes(keyData.k, true)
            if (secret === null) throw new DOMException('crypto.subtle.importKey: the JWK\'s k is not base64url', 'DataError')
            return hmacKey(secret, hmac, extractable, usages, 'importKey')
        }
        throw notSupported('importKey', `the key format ${String(format)}`)
    }
    async exportKey(format, key) {
        if (!(key instanceof CryptoKey)) throw new TypeError('crypto.subtle.exportKey: the key must be a CryptoKey')
        if (!key.extractable) throw new DOMException('crypto.subtle.exportKey: the key is not extractable', 'InvalidAccessError')
        const secret = SECRET.get(key)
        if (format === 'raw') return secret.slice().buffer
        if (format === 'jwk') {
            return { kty: 'oct', k: bytesToBase64(secret, B64.slice(0, 62) + '-_', false), alg: HASHES[key.algorithm.hash.name][1], key_ops: key.usages, ext: true }
        }
        throw notSupported('exportKey', `the key format ${String(format)}`)
    }
    async generateKey(algorithm, extractable, keyUsages) {
        const hmac = hmacOf(algorithm, 'generateKey')
        const hash = hashOf(hmac.hash, 'generateKey')
        const usages = usagesOf(keyUsages, 'generateKey')
        const bits = hmac.length === undefined ? HASHES[hash][0] : Number(hmac.length)
        if (!Number.isInteger(bits) || bits <= 0 || bits % 8 !== 0) throw notSupported('generateKey', `an HMAC key length of ${hmac.length} bits (not whole bytes)`)
        return hmacKey(new Uint8Array(host.randomBytes(bits / 8)), { hash }, extractable, usages, 'generateKey')
    }
    async sign(algorithm, key, data) {
        const secret = keyFor(key, algorithm, 'sign', 'sign')
        return host.hmac(key.algorithm.hash.name, secret, dataOf(data, 'sign'))
    }
    async verify(algorithm, key, signature, data) {
        const secret = keyFor(key, algorithm, 'verify', 'verify')
        return host.hmacVerify(key.algorithm.hash.name, secret, dataOf(data, 'verify'), dataOf(signature, 'verify', 'the signature'))
    }
}
for (const op of ['encrypt', 'decrypt', 'deriveBits', 'deriveKey', 'wrapKey', 'unwrapKey']) {
    Object.defineProperty(SubtleCrypto.prototype, op, {
        value: async function () { throw notSupported(op, 'this operation') }, writable: true, configurable: true,
    })
}
const subtle = new SubtleCrypto(KEY)

// ---------------------------------------------------------------- Blob, File, FormData


// File API: immutable bytes with a MIME type; reading them gives promises, as in browsers.
class Blob {
    #bytes; #type
    constructor(parts = [], options = {}) {
        if (parts === null || typeof parts !== 'object' || typeof parts[Symbol.iterator] !== 'function') {
            throw new TypeError('Blob: the parts must be an iterable (e.g. an array) of strings, ArrayBuffers, typed arrays or Blobs')
        }
        const chunks = []
        for (const part of parts) {
            if (part instanceof Blob) chunks.push(part.#bytes)
            else if (part instanceof ArrayBuffer || ArrayBuffer.isView(part)) chunks.push(bufferSourceBytes(part, 'Blob').slice())
            else chunks.push(encoder.encode(String(part)))
        }
        this.#bytes = concatBytes(chunks)
        const type = options === null || options === undefined || options.type === undefined ? '' : String(options.type)
        // File API: a type with characters outside U+0020–U+007E is the empty string; lower-cased.
        this.#type = /[^\x20-\x7e]/.test(type) ? '' : type.toLowerCase()
    }
    static _bytes(blob) { return blob.#bytes }
    get size() { return this.#bytes.length }
    get type() { return this.#type }
    slice(start = 0, end = this.size, type = '') {
        const size = this.size
        const clamp = (at) => { at = Math.trunc(Number(at)) || 0; return at < 0 ? Math.max(size + at, 0) : Math.min(at, size) }
        const from = clamp(start)
        const to = Math.max(clamp(end), from)
        return new Blob([this.#bytes.subarray(from, to)], { type })
    }
    text() { return Promise.resolve(decoder.decode(this.#bytes)) }
    arrayBuffer() { return Promise.resolve(this.#bytes.slice().buffer) }
    bytes() { return Promise.resolve(this.#bytes.slice()) }
    stream() {
        const bytes = this.#bytes
        const { ReadableStream } = loadStreams()
        return new ReadableStream({
            type: 'bytes',
            start(controller) {
                if (bytes.length) controller.enqueue(bytes.slice())
                controller.close()
            },
        })
    }
    get [Symbol.toStringTag]() { return 'Blob' }
    [INSPECT]() { return `${constructorName(this)} { size: ${this.size}, type: ${quote(this.type)}${this instanceof File ? `, name: ${quote(this.name)}` : ''} }` }
}

class File extends Blob {
    #name; #lastModified
    constructor(bits, name, options = {}) {
        if (arguments.length < 2) throw new TypeError('File: 2 arguments are required (bits, name)')
        super(bits, options)
        this.#name = String(name)
        const modified = options === null || options === undefined ? undefined : options.lastModified
        this.#lastModified = modified === undefined ? Date.now() : Math.trunc(Number(modified)) || 0
    }
    get name() { return this.#name }
    get lastModified() { return this.#lastModified }
    get webkitRelativePath() { return '' }
    get [Symbol.toStringTag]() { return 'File' }
}

// A form's entries: names with strings or Files (XHR's FormData, without a form element).
class FormData {
    #list = []
    constructor(form) {
        if (form !== undefined) throw new TypeError('FormData: there is no form element to read (no DOM); help: new FormData(), then append(name, value)')
    }
    static #entry(name, value, filename, what, count) {
        if (count < 2) throw new TypeError(`FormData.${what}: 2 arguments are required (name, value)`)
        name = String(name)
        if (value instanceof Blob) {
            if (filename !== undefined || !(value instanceof File)) {
                const options = { type: value.type }
                if (value instanceof File) options.lastModified = value.lastModified
                value = new File([value], filename !== undefined ? String(filename) : value instanceof File ? value.name : 'blob', options)
            }
            return [name, value]
        }
        if (count > 2) throw new TypeError(`FormData.${what}: with a file name, the value must be a Blob or File`)
        return [name, String(value)]
    }
    append(name, value, filename) { this.#list.push(FormData.#entry(name, value, filename, 'append', arguments.length)) }
    set(name, value, filename) {
        const entry = FormData.#entry(name, value, filename, 'set', arguments.length)
        const index = this.#list.findIndex(([n]) => n === entry[0])
        if (index < 0) { this.#list.push(entry); return }
        this.#list[index] = entry
        this.#list = this.#list.filter(([n], i) => n !== entry[0] || i === index)
    }
    delete(name) { name = String(name); this.#list = this.#list.filter(([n]) => n !== name) }
    get(name) { const found = this.#list.find(([n]) => n === String(name)); return found ? found[1] : null }
    getAll(name) { return this.#list.filter(([n]) => n === String(name)).map(([, v]) => v) }
    has(name) { return this.#list.some(([n]) => n === String(name)) }
    forEach(callback, thisArg) { for (const [n, v] of this.#list) callback.call(thisArg, v, n, this) }
    keys() { return this.#list.map(([n]) => n)[Symbol.iterator]() }
    values() { return this.#list.map(([, v]) => v)[Symbol.iterator]() }
    entries() { return this.#list.map(([n, v]) => [n, v])[Symbol.iterator]() }
    [Symbol.iterator]() { return this.entries() }
    get [Symbol.toStringTag]() { return 'FormData' }
    [INSPECT](depth, options) {
        return `FormData {${this.#list.map(([n, v]) => ` ${quote(n)} => ${typeof v === 'string' ? quote(v) : inspect(v, options)}`).join(',')} }`
    }

    // multipart/form-data (RFC 7578, as the HTML standard encodes it): `[bytes, content type]`.
    static _multipart(form) {
        const random = Array.from(new Uint8Array(host.randomBytes(12)), (b) => b.toString(16).padStart(2, '0')).join('')
        const boundary = `----WasockFormBoundary${random}`
        const escape = (text) => text.replace(/\r\n|\r|\n/g, '\r\n').replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
        const chunks = []
        for (const [name, value] of form.#list) {
            let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escape(name)}"`
            if (typeof value === 'string') {
                chunks.push(encoder.encode(`${head}\r\n\r\n${value.replace(/\r\n|\r|\n/g, '\r\n')}\r\n`))
            } else {
                head += `; filename="${escape(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`
                chunks.push(encoder.encode(head), Blob._bytes(value), encoder.encode('\r\n'))
            }
        }
        chunks.push(encoder.encode(`--${boundary}--\r\n`))
        return [concatBytes(chunks), `multipart/form-data; boundary=${boundary}`]
    }

    // A body of `type` (a Content-Type field value) as a FormData: urlencoded or multipart.
    static _parse(bytes, type) {
        const essence = type.split(';')[0].trim().toLowerCase()
        const form = new FormData()
        if (essence === 'application/x-www-form-urlencoded') {
            for (const [name, value] of host.formParse(decoder.decode(bytes))) form.append(name, value)
            return form
        }
        if (essence !== 'multipart/form-data') {
            throw new TypeError(`formData: the body's Content-Type is ${type ? `\`${type}\`` : 'missing'}, not multipart/form-data or ` +
                'application/x-www-form-urlencoded; help: read it with .text(), .json() or .bytes()')
        }
        const boundary = mediaParameter(type, 'boundary')
        if (!boundary) throw new TypeError(`formData: the Content-Type \`${type}\` has no boundary parameter; help: send multipart/form-data with its boundary`)
        for (const part of multipartParts(bytes, boundary)) {
            const disposition = part.headers.get('content-disposition') || ''
            if (!/^\s*form-data\s*(;|$)/i.test(disposition)) throw malformed('a part without Content-Disposition: form-data')
            const name = mediaParameter(disposition, 'name')
            if (name === null) throw malformed('a part without a name')
            const filename = mediaParameter(disposition, 'filename*') ?? mediaParameter(disposition, 'filename')
            if (filename === null) form.append(name, decoder.decode(part.body))
            // RFC 7578 §4.4: a part without Content-Type is text/plain.
            else form.append(name, new File([part.body], filename, { type: part.headers.get('content-type') || 'text/plain' }))
        }
        return form
    }
}

function malformed(what) {
    return new TypeError(`formData: the multipart/form-data body is malformed (${what}); help: check the client's encoding and boundary`)
}

// The parameter `name` of a header value (`type/subtype; a=1; b="x y"`), unquoted and, for
// RFC 8187's `name*=utf-8''…`, decoded; null when absent. Names compare without case.
function mediaParameter(value, name) {
    const pattern = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g
    for (let match; (match = pattern.exec(value)) !== null;) {
        if (match[1].toLowerCase() !== name) continue
        let found = match[2].trim()
        if (found.startsWith('"')) found = found.slice(1, -1).replace(/\\(.)/g, '$1')
        if (name.endsWith('*')) {
            const ext = /^([^']*)'[^']*'(.*)$/.exec(found)
            if (!ext) return null
            try { return decodeURIComponent(ext[2]) } catch (e) { return null }
        }
        // Browsers percent-encode these three in names (HTML's multipart/form-data encoding).
        return found.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n')
    }
    return null
}

function indexOfBytes(bytes, needle, from) {
    const first = needle[0]
    for (let at = bytes.indexOf(first, from); at >= 0 && at + needle.length <= bytes.length; at = bytes.indexOf(first, at + 1)) {
        let i = 1
        while (i < needle.length && bytes[at + i] === needle[i]) i++
        if (i === needle.length) return at
    }
    return -1
}

// The parts of a multipart body (RFC 2046 §5.1.1): `{ headers, body }` each, the preamble and
// epilogue skipped.
function multipartParts(bytes, boundary) {
    const delimiter = encoder.encode(`\r\n--${boundary}`)
    const parts = []
    // The first delimiter may open the body without the CRLF before it.
    let at = 0
    const opening = delimiter.subarray(2)
    if (indexOfBytes(bytes.subarray(0, opening.length), opening, 0) !== 0) {
        at = indexOfBytes(bytes, delimiter, 0)
        if (at < 0) throw malformed('no boundary delimiter')
        at += 2
    }
    at += opening.length
    for (;;) {
        if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) return parts
        while (bytes[at] === 0x20 || bytes[at] === 0x09) at++
        if (bytes[at] !== 0x0d || bytes[at + 1] !== 0x0a) throw malformed('no line break after a boundary')
        at += 2
        const headEnd = indexOfBytes(bytes, encoder.encode('\r\n\r\n'), at)
        const next = indexOfBytes(bytes, delimiter, at)
        if (next < 0) throw malformed('no closing boundary')
        const headers = new Headers()
        let bodyStart
        if (bytes[at] === 0x0d && bytes[at + 1] === 0x0a) {
            bodyStart = at + 2
        } else {
            if (headEnd < 0 || headEnd > next) throw malformed('a part header without its blank line')
            for (const line of decoder.decode(bytes.subarray(at, headEnd)).split('\r\n')) {
                const colon = line.indexOf(':')
                if (colon <= 0) throw malformed(`the header line ${quote(line)}`)
                try { headers.append(line.slice(0, colon).trim(), line.slice(colon + 1)) } catch (e) { throw malformed(`the header line ${quote(line)}`) }
            }
            bodyStart = headEnd + 4
        }
        parts.push({ headers, body: bytes.slice(bodyStart, next) })
        at = next + delimiter.length
    }
}

// ---------------------------------------------------------------- TextEncoderStream, TextDecoderStream

// What the loaded Streams get here: console.log shows them as Node does (not the
// polyfill's internal fields), and the Encoding Standard's stream classes over its
// TransformStream.
function streamExtras(loaded) {
    const { ReadableStream, ReadableByteStreamController, WritableStream, TransformStream } = loaded
    const hook = (Class, show) =>
        Object.defineProperty(Class.prototype, INSPECT, { value: function (depth, options) { return `${Class.name} ${inspect(show(this), options)}` } })
    hook(ReadableStream, (stream) => ({
        locked: stream.locked, state: stream._state,
        supportsBYOB: stream._readableStreamController instanceof ReadableByteStreamController,
    }))
    hook(WritableStream, (stream) => ({ locked: stream.locked, state: stream._state }))
    hook(TransformStream, (stream) => ({ readable: stream.readable, writable: stream.writable, backpressure: stream._backpressure }))
    class TextEncoderStream {
        #transform
        constructor() {
            let pending = ''
            this.#transform = new TransformStream({
                transform(chunk, controller) {
                    // A lead surrogate at a chunk's end waits for its pair in the next chunk.
                    let text = pending + String(chunk)
                    pending = ''
                    const last = text.charCodeAt(text.length - 1)
                    if (last >= 0xd800 && last <= 0xdbff) { pending = text.slice(-1); text = text.slice(0, -1) }
                    if (text) controller.enqueue(encoder.encode(text))
                },
                flush(controller) { if (pending) controller.enqueue(encoder.encode('\ufffd')) },
            })
        }
        get encoding() { return 'utf-8' }
        get readable() { return this.#transform.readable }
        get writable() { return this.#transform.writable }
    }
    class TextDecoderStream {
        #transform; #fatal; #ignoreBOM
        constructor(label = 'utf-8', options = {}) {
            const decoding = new TextDecoder(label, options)
            this.#fatal = !!(options && options.fatal)
            this.#ignoreBOM = !!(options && options.ignoreBOM)
            let held = new Uint8Array(0)
            let first = true
            const decode = (bytes) => {
                let text = decoding.decode(bytes)
                if (first && text.length) {
                    first = false
                    if (!this.#ignoreBOM && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
                }
                return text
            }
            this.#transform = new TransformStream({
                transform(chunk, controller) {
                    const bytes = bufferSourceBytes(chunk, 'TextDecoderStream')
                    const all = new Uint8Array(held.length + bytes.length)
                    all.set(held)
                    all.set(bytes, held.length)
                    // A UTF-8 sequence cut at the chunk's end waits for the next chunk.
                    const cut = incompleteTail(all)
                    held = all.slice(cut)
                    const text = decode(all.subarray(0, cut))
                    if (text) controller.enqueue(text)
                },
                flush(controller) {
                    const text = held.length ? decode(held) : ''
                    if (text) controller.enqueue(text)
                },
            })
        }
        get encoding() { return 'utf-8' }
        get fatal() { return this.#fatal }
        get ignoreBOM() { return this.#ignoreBOM }
        get readable() { return this.#transform.readable }
        get writable() { return this.#transform.writable }
    }
    return { TextEncoderStream, TextDecoderStream }
}

// Where an incomplete UTF-8 sequence starts at the end of `bytes` (its length when none).
function incompleteTail(bytes) {
    for (let back = 1; back <= 3 && back <= bytes.length; back++) {
        const byte = bytes[bytes.length - back]
        if ((byte & 0xc0) === 0x80) continue
        const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
        return need > back ? bytes.length - back : bytes.length
    }
    return bytes.length
}

return { Blob, File, FormData, CryptoKey, SubtleCrypto, subtle, streamExtras }
})
