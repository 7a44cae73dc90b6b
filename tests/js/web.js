// Checks the web-standard globals against what the specs (WHATWG Fetch, URL, DOM, HTML,
// Streams, Encoding, File API, XHR's FormData; W3C WebCrypto with FIPS 180 and RFC 4231
// vectors) define and Node 18+ does, printing one line per check; the CLI test counts them and
// compares the output across runtimes. Usage: web.js HOST (a loopback address to listen on).
import * as net from 'wasi_net'

const host = scriptArgs[1]
let count = 0

function check(name, condition, detail) {
    if (!condition) {
        throw new Error(`check failed: ${name}${detail === undefined ? '' : ': ' + detail}`)
    }
    count++
    console.log('ok', name)
}

function throwsLike(name, f, pattern) {
    try {
        f()
    } catch (e) {
        check(name, pattern.test(`${e.name}: ${e.message}`), `${e.name}: ${e.message}`)
        return
    }
    throw new Error(`check failed: ${name}: did not throw`)
}

async function rejectsLike(name, promise, pattern) {
    try {
        await promise
    } catch (e) {
        check(name, pattern.test(`${e.name}: ${e.message}`), `${e.name}: ${e.message}`)
        return e
    }
    throw new Error(`check failed: ${name}: did not reject`)
}

function urls() {
    const u = new URL('HTTPS://user:pw@Example.COM:443/a/./b/../c?x=1&y=%20#frag')
    check('URL normalizes scheme, host, default port, dot segments',
        u.href === 'https://user:pw@example.com/a/c?x=1&y=%20#frag', u.href)
    check('URL components', u.protocol === 'https:' && u.username === 'user' && u.password === 'pw' &&
        u.host === 'example.com' && u.hostname === 'example.com' && u.port === '' && u.pathname === '/a/c' &&
        u.search === '?x=1&y=%20' && u.hash === '#frag' && u.origin === 'https://example.com')
    check('URL with a base', new URL('../d?q', 'http://h:8080/a/b/c').href === 'http://h:8080/a/d?q')
    check('URL absolute input ignores the base', new URL('http://other/x', 'http://h/').href === 'http://other/x')
    check('URL IDNA host', new URL('http://bücher.example/').hostname === 'xn--bcher-kva.example')
    check('URL IPv6 host', new URL('http://[::1]:81/').host === '[::1]:81')
    check('URL IPv4 numbers', new URL('http://0x7f.1/').hostname === '127.0.0.1')
    check('URL percent-encodes the path', new URL('http://h/a b/é').pathname === '/a%20b/%C3%A9')
    throwsLike('URL rejects a relative URL without base', () => new URL('/relative'), /^TypeError: Invalid URL/)
    throwsLike('URL rejects a bad port', () => new URL('http://h:99999/'), /^TypeError: Invalid URL/)
    check('URL.canParse', URL.canParse('http://x') && !URL.canParse('x') && URL.canParse('x', 'http://h/'))
    const s = new URL('http://h/p?b=2&a=1&a=3')
    check('searchParams reads the query', s.searchParams.get('a') === '1' && s.searchParams.getAll('a').join() === '1,3')
    s.searchParams.append('c', 'x y&z')
    check('searchParams writes back to the URL', s.search === '?b=2&a=1&a=3&c=x+y%26z', s.search)
    s.searchParams.sort()
    check('searchParams.sort is stable by name', s.search === '?a=1&a=3&b=2&c=x+y%26z', s.search)
    s.search = '?n=1'
    check('setting search updates searchParams', s.searchParams.get('n') === '1' && !s.searchParams.has('a'))
    s.port = '8080'; s.hash = 'h'; s.pathname = '/q'
    check('URL setters', s.href === 'http://h:8080/q?n=1#h', s.href)
    s.port = 'nope'
    check('a bad port is ignored by the setter', s.port === '8080')
    const p = new URLSearchParams('?a=1&b=%C3%A9+x&a=2')
    check('URLSearchParams parses form encoding', p.get('b') === 'é x' && p.getAll('a').length === 2 && p.size === 3)
    p.set('a', '3'); p.delete('b')
    check('URLSearchParams set/delete', p.toString() === 'a=3', p.toString())
    check('URLSearchParams from a record and pairs',
        new URLSearchParams({ x: '1', y: 'ä' }).toString() === 'x=1&y=%C3%A4' &&
        new URLSearchParams([['k', 'v'], ['k', 'w']]).getAll('k').join() === 'v,w')
    check('URL toJSON and String', JSON.stringify({ u: new URL('http://h') }) === '{"u":"http://h/"}' && `${new URL('http://h')}` === 'http://h/')
}

function headers() {
    const h = new Headers({ 'X-B': ' 1 ', 'x-a': '2', 'Set-Cookie': 'a=1' })
    h.append('set-cookie', 'b=2')
    h.append('X-b', '3')
    check('Headers are case-insensitive and values trimmed', h.get('x-B') === '1, 3' && h.has('X-A'))
    check('Headers iterate sorted, lowercase, combined, set-cookie apart',
        JSON.stringify([...h]) === '[["set-cookie","a=1"],["set-cookie","b=2"],["x-a","2"],["x-b","1, 3"]]', JSON.stringify([...h]))
    check('getSetCookie', h.getSetCookie().join('|') === 'a=1|b=2' && h.get('set-cookie') === 'a=1, b=2')
    h.set('x-b', 'one')
    h.delete('X-A')
    check('Headers set/delete', h.get('x-b') === 'one' && h.get('x-a') === null)
    throwsLike('a bad header name is a TypeError', () => h.set('bad name', 'v'), /^TypeError: .*invalid header name/)
    throwsLike('a header value with CR/LF is a TypeError', () => h.set('x', 'a\r\nb: c'), /^TypeError: [\s\S]*invalid header value/)
    check('Headers from pairs and from Headers', new Headers(new Headers([['a', '1']])).get('A') === '1')
    const keys = []
    new Headers({ b: '1', a: '2' }).forEach((value, name) => keys.push(name + '=' + value))
    check('Headers.forEach', keys.join() === 'a=2,b=1')
}

async function bodies() {
    const r = new Response('héllo', { status: 201, statusText: 'Made', headers: { 'X-Y': 'z' } })
    check('Response fields', r.status === 201 && r.statusText === 'Made' && r.ok && r.headers.get('x-y') === 'z' &&
        r.headers.get('content-type') === 'text/plain;charset=UTF-8' && r.type === 'default' && !r.redirected)
    const copy = r.clone()
    check('Response.text', (await r.text()) === 'héllo' && r.bodyUsed)
    await rejectsLike('a body is read once', r.text(), /^TypeError: .*already been read|unusable/)
    throwsLike('clone after reading throws', () => r.clone(), /^TypeError/)
    check('a clone keeps its own body', new TextDecoder().decode(await copy.arrayBuffer()) === 'héllo')
    // The Encoding Standard's UTF-8 encode: a lone surrogate becomes U+FFFD, in TextEncoder
    // and in a string body (which the host encodes).
    const lone = hex(new TextEncoder().encode('a\udc00\ud83d\ude00'))
    check('a lone surrogate encodes as U+FFFD', lone === '61efbfbdf09f9880' &&
        hex(await new Response('\ud800').arrayBuffer()) === 'efbfbd', lone)
    check('Response.bytes', (await new Response(new Uint8Array([1, 2, 3])).bytes()).join() === '1,2,3')
    const json = Response.json({ a: [1] }, { status: 400, headers: { 'x-k': 'v' } })
    check('Response.json', json.status === 400 && json.headers.get('content-type') === 'application/json' &&
        json.headers.get('x-k') === 'v' && (await json.json()).a[0] === 1)
    const redirect = Response.redirect('http://h/x', 301)
    check('Response.redirect', redirect.status === 301 && redirect.headers.get('location') === 'http://h/x')
    throwsLike('Response.redirect with a non-redirect status', () => Response.redirect('http://h/', 200), /^RangeError/)
    throwsLike('a status out of 200-599 is a RangeError', () => new Response('', { status: 99 }), /^RangeError/)
    throwsLike('a null-body status with a body is a TypeError', () => new Response('x', { status: 204 }), /^TypeError/)
    check('no body reads as empty', (await new Response(null, { status: 204 }).text()) === '' && new Response().status === 200)
    const form = new Response(new URLSearchParams({ a: 'b c' }))
    check('a URLSearchParams body', form.headers.get('content-type') === 'application/x-www-form-urlencoded;charset=UTF-8' &&
        (await form.text()) === 'a=b+c')
    await rejectsLike('json() of a non-JSON body is a SyntaxError', new Response('{').json(), /^SyntaxError/)
    const q = new Request('http://h/p?q=1', { method: 'post', body: '{"x":1}', headers: { 'content-type': 'application/json' } })
    check('Request fields', q.method === 'POST' && q.url === 'http://h/p?q=1' && q.headers.get('content-type') === 'application/json' &&
        q.redirect === 'follow' && q.signal instanceof AbortSignal && !q.signal.aborted)
    check('Request.json', (await q.json()).x === 1 && q.bodyUsed)
    check('patch is not upper-cased, get is', new Request('http://h', { method: 'patch' }).method === 'patch' &&
        new Request('http://h', { method: 'get' }).method === 'GET')
    throwsLike('GET with a body is a TypeError', () => new Request('http://h', { body: 'x' }), /^TypeError/)
    throwsLike('CONNECT is forbidden', () => new Request('http://h', { method: 'CONNECT' }), /^TypeError/)
    throwsLike('a relative Request URL is a TypeError', () => new Request('/p'), /^TypeError/)
    const derived = new Request(new Request('http://h/a', { method: 'PUT', body: 'b' }), { headers: { a: '1' } })
    check('a Request from a Request', derived.method === 'PUT' && derived.headers.get('a') === '1' && (await derived.text()) === 'b')
}

const utf8 = (text) => new TextEncoder().encode(text)
const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('')

// Streams (WHATWG Streams, Fetch's body streams, Encoding's stream classes).
async function streams() {
    const source = new ReadableStream({
        start(controller) { for (const part of ['one', 'two', 'three']) controller.enqueue(utf8(part)); controller.close() },
    })
    const streamed = new Response(source)
    check('a Response keeps the ReadableStream it was given', streamed.body === source && !streamed.bodyUsed &&
        !streamed.headers.has('content-type'))
    const reader = streamed.body.getReader()
    const parts = []
    for (let step = await reader.read(); !step.done; step = await reader.read()) parts.push(new TextDecoder().decode(step.value))
    check('a body stream reads chunk by chunk', parts.join('|') === 'one|two|three', parts.join('|'))
    check('reading the body stream makes bodyUsed true', streamed.bodyUsed)
    await rejectsLike('a read body stream cannot be read again', streamed.text(), /^TypeError/)
    const whole = new Response('héllo')
    const body = whole.body
    check('body of a string Response is a ReadableStream of bytes', body instanceof ReadableStream && whole.body === body && !whole.bodyUsed)
    const first = await body.getReader().read()
    check('its chunk is a Uint8Array', first.value instanceof Uint8Array && new TextDecoder().decode(first.value) === 'héllo' && whole.bodyUsed)
    check('no body is a null body stream', new Response(null).body === null && new Request('http://h/').body === null)
    const locked = new Response('x')
    locked.body.getReader()
    check('a reader locks the stream', locked.body.locked)
    throwsLike('a locked stream has no second reader', () => locked.body.getReader(), /^TypeError/)
    await rejectsLike('text() of a locked body is a TypeError', locked.text(), /^TypeError/)
    throwsLike('clone() of a locked body is a TypeError', () => locked.clone(), /^TypeError/)
    const held = new ReadableStream()
    held.getReader()
    throwsLike('a locked stream is no body', () => new Response(held), /^TypeError/)
    const released = new Response('y')
    released.body.getReader().releaseLock()
    check('releaseLock unlocks the stream', !released.body.locked && (await released.text()) === 'y')
    const sizes = []
    for await (const chunk of new Response(new Uint8Array(5)).body) sizes.push(chunk.length)
    check('a body stream is async iterable', sizes.join() === '5')
    let cancelled = null
    const cancelling = new ReadableStream({ pull(c) { c.enqueue(utf8('.')) }, cancel(reason) { cancelled = reason } })
    const canceller = cancelling.getReader()
    await canceller.read()
    await canceller.cancel('enough')
    check('cancel() reaches the source and ends the stream', cancelled === 'enough' && (await canceller.read()).done)
    const decoded = new ReadableStream({
        start(c) { c.enqueue(new Uint8Array([0x61, 0xc3])); c.enqueue(new Uint8Array([0xa9, 0xe2, 0x82])); c.enqueue(new Uint8Array([0xac])); c.close() },
    }).pipeThrough(new TextDecoderStream())
    let text = ''
    for await (const chunk of decoded) text += chunk
    check('TextDecoderStream joins characters split across chunks', text === 'aé€', text)
    const upper = new TransformStream({ transform(chunk, controller) { controller.enqueue(chunk.toUpperCase()) } })
    const written = []
    await ReadableStream.from(['a', 'b']).pipeThrough(upper).pipeTo(new WritableStream({ write(chunk) { written.push(chunk) } }))
    check('pipeThrough a TransformStream and pipeTo a WritableStream', written.join() === 'A,B')
    const encoded = new Response(ReadableStream.from(['x', 'é']).pipeThrough(new TextEncoderStream()))
    check('TextEncoderStream makes a body of text', (await encoded.text()) === 'xé')
    const tee = new Response(ReadableStream.from([utf8('t')]))
    const teeCopy = tee.clone()
    check('clone() of a stream body tees it', (await tee.text()) === 't' && (await teeCopy.text()) === 't')
    const posted = new Request('http://h/', { method: 'POST', body: ReadableStream.from([utf8('p1'), utf8('p2')]), duplex: 'half' })
    check('a Request with a stream body', posted.body instanceof ReadableStream && (await posted.text()) === 'p1p2')
    await rejectsLike('a chunk that is not bytes is a TypeError', new Response(ReadableStream.from(['text'])).text(), /^TypeError/)
}

// WebCrypto's SubtleCrypto: FIPS 180-4 digests, RFC 4231 / RFC 2202 HMAC vectors.
async function subtleCrypto() {
    const subtle = crypto.subtle
    const digests = [
        ['SHA-1', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
        ['SHA-256', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
        ['SHA-384', 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7'],
        ['SHA-512', 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f'],
    ]
    for (const [name, expected] of digests) {
        const got = hex(await subtle.digest(name, utf8('abc')))
        check(`digest ${name} of "abc" (FIPS 180)`, got === expected, got)
    }
    check('digest takes { name } and any typed array', hex(await subtle.digest({ name: 'sha-256' }, new Uint16Array(0))) ===
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    const key = new Uint8Array(20).fill(0x0b)
    const vectors = [
        ['SHA-256', 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
        ['SHA-384', 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6'],
        ['SHA-512', '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854'],
    ]
    for (const [hash, expected] of vectors) {
        const k = await subtle.importKey('raw', key, { name: 'HMAC', hash }, false, ['sign'])
        const got = hex(await subtle.sign('HMAC', k, utf8('Hi There')))
        check(`HMAC-${hash} (RFC 4231 test case 1)`, got === expected, got)
    }
    const jefe = await subtle.importKey('raw', utf8('Jefe'), { name: 'HMAC', hash: { name: 'SHA-1' } }, true, ['sign', 'verify'])
    const tag = await subtle.sign({ name: 'HMAC' }, jefe, utf8('what do ya want for nothing?'))
    check('HMAC-SHA-1 (RFC 2202 test case 2)', hex(tag) === 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79', hex(tag))
    check('an imported key', jefe instanceof CryptoKey && jefe.type === 'secret' && jefe.extractable &&
        jefe.algorithm.name === 'HMAC' && jefe.algorithm.hash.name === 'SHA-1' && jefe.algorithm.length === 32 &&
        jefe.usages.join() === 'sign,verify')
    check('verify accepts the tag', await subtle.verify('HMAC', jefe, tag, utf8('what do ya want for nothing?')))
    check('verify refuses another message', !(await subtle.verify('HMAC', jefe, tag, utf8('what do ya want for nothing!'))))
    const made = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify'])
    const raw = await subtle.exportKey('raw', made)
    check('generateKey makes a key of the hash block size', made.algorithm.length === 512 && raw.byteLength === 64)
    const jwk = await subtle.exportKey('jwk', made)
    const again = await subtle.importKey('jwk', jwk, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    check('a JWK round trip', jwk.kty === 'oct' && jwk.alg === 'HS256' &&
        await subtle.verify('HMAC', again, await subtle.sign('HMAC', made, utf8('m')), utf8('m')))
    const unsupported = await rejectsLike('an unsupported digest is a NotSupportedError', subtle.digest('MD5', utf8('x')), /^NotSupportedError: /)
    check('the NotSupportedError is a DOMException', unsupported instanceof DOMException && unsupported.code === 9)
    await rejectsLike('an unsupported algorithm is a NotSupportedError',
        subtle.importKey('raw', new Uint8Array(16), 'AES-GCM', false, ['encrypt']), /^NotSupportedError: /)
    await rejectsLike('signing with a verify-only key is an InvalidAccessError', subtle.sign('HMAC', again, utf8('m')), /^InvalidAccessError: /)
    await rejectsLike('exporting a non-extractable key is an InvalidAccessError', subtle.exportKey('raw', again), /^InvalidAccessError: /)
    await rejectsLike('a string is not BufferSource data', subtle.digest('SHA-256', 'abc'), /^TypeError: /)
}

// File API's Blob and File, XHR's FormData, Fetch's body mixins.
async function blobsAndForms() {
    const blob = new Blob(['ab', new Uint8Array([0x63]), new Blob(['dé'])], { type: 'Text/Plain' })
    check('Blob size and type', blob.size === 6 && blob.type === 'text/plain' && blob instanceof Blob)
    check('Blob text, bytes, arrayBuffer', (await blob.text()) === 'abcdé' && (await blob.bytes())[2] === 0x63 &&
        (await blob.arrayBuffer()).byteLength === 6)
    check('Blob.slice with negative indexes', (await blob.slice(1, -2).text()) === 'bcd' && blob.slice(-2).size === 2 &&
        blob.slice(0, 1, 'x/y').type === 'x/y')
    check('Blob.stream', (await new Response(blob.stream()).text()) === 'abcdé')
    const file = new File(['x'], 'a.txt', { type: 'text/plain', lastModified: 42 })
    check('File', file instanceof Blob && file.name === 'a.txt' && file.lastModified === 42 && file.size === 1)
    const form = new FormData()
    form.append('a', '1')
    form.append('b', blob)
    form.append('a', 2)
    form.append('c', file, 'renamed.txt')
    check('FormData get/getAll/has', form.get('a') === '1' && form.getAll('a').join() === '1,2' && form.has('b') && form.get('z') === null)
    check('a Blob entry becomes a File named blob', form.get('b') instanceof File && form.get('b').name === 'blob' &&
        form.get('c').name === 'renamed.txt')
    form.set('a', '3')
    form.delete('b')
    check('FormData set/delete keep the order', [...form.keys()].join() === 'a,c' && form.get('a') === '3')
    const sent = new Response(form)
    const type = sent.headers.get('content-type')
    check('a FormData body is multipart/form-data with a boundary', /^multipart\/form-data; boundary=\S+$/.test(type), type)
    const back = await sent.formData()
    check('multipart round trip', back.get('a') === '3' && back.get('c') instanceof File && back.get('c').name === 'renamed.txt' &&
        back.get('c').type === 'text/plain' && (await back.get('c').text()) === 'x')
    const multipart = '--XyZ\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue\r\n--XyZ\r\n' +
        'Content-Disposition: form-data; name="up"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--\r\n\r\n--XyZ--\r\n'
    const parsed = await new Request('http://h/', { method: 'POST', body: multipart, headers: { 'content-type': 'multipart/form-data; boundary="XyZ"' } }).formData()
    check('formData() parses multipart (a file holding CRLF--CRLF)', parsed.get('field') === 'value' &&
        (await parsed.get('up').text()) === '\r\n--\r\n' && parsed.get('up').name === 'f.bin')
    const urlencoded = await new Response(new URLSearchParams('a=1&b=x+y')).formData()
    check('formData() parses urlencoded bodies', urlencoded.get('a') === '1' && urlencoded.get('b') === 'x y')
    await rejectsLike('formData() of a text body is a TypeError', new Response('a=1').formData(), /^TypeError/)
    const typed = await new Response('<p>', { headers: { 'content-type': 'text/html' } }).blob()
    check('blob() takes the Content-Type', typed.type === 'text/html' && (await typed.text()) === '<p>')
}

function events() {
    const target = new EventTarget()
    const seen = []
    const listener = (e) => seen.push(e.type + ':' + (e.target === target))
    target.addEventListener('ping', listener)
    target.addEventListener('ping', listener)
    target.addEventListener('ping', { handleEvent: () => seen.push('object') }, { once: true })
    target.dispatchEvent(new Event('ping'))
    target.dispatchEvent(new Event('ping'))
    target.removeEventListener('ping', listener)
    target.dispatchEvent(new Event('ping'))
    check('EventTarget: once, duplicates, removal', seen.join() === 'ping:true,object,ping:true', seen.join())
    const e = new Event('x', { cancelable: true })
    e.preventDefault()
    check('preventDefault on a cancelable event', e.defaultPrevented && !new EventTarget().dispatchEvent(e) === true)
    const controller = new AbortController()
    let fired = 0
    controller.signal.onabort = () => fired++
    controller.signal.addEventListener('abort', () => fired++)
    controller.abort()
    controller.abort()
    check('abort fires once, reason an AbortError DOMException', fired === 2 && controller.signal.aborted &&
        controller.signal.reason instanceof DOMException && controller.signal.reason.name === 'AbortError' &&
        controller.signal.reason.code === 20)
    throwsLike('throwIfAborted', () => controller.signal.throwIfAborted(), /^AbortError/)
    check('AbortSignal.abort(reason)', AbortSignal.abort('why').reason === 'why')
}

async function globalsAndTimers() {
    check('btoa/atob', btoa('hello\xff') === 'aGVsbG//' && atob(' aGVs bG8= ') === 'hello')
    throwsLike('btoa of a non-Latin-1 string', () => btoa('€'), /^InvalidCharacterError/)
    throwsLike('atob of a non-base64 string', () => atob('a'), /^InvalidCharacterError/)
    const words = crypto.getRandomValues(new Uint32Array(8))
    check('crypto.getRandomValues fills the array', words.length === 8 && words.some((w) => w !== 0))
    throwsLike('getRandomValues over 65536 bytes', () => crypto.getRandomValues(new Uint8Array(65537)), /^QuotaExceededError/)
    const uuid = crypto.randomUUID()
    check('crypto.randomUUID is a v4 UUID', /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid) && uuid !== crypto.randomUUID())
    const original = { d: new Date(5), m: new Map([[1, { x: [1] }]]), s: new Set(['a']), b: new Uint8Array([9]) }
    original.self = original
    const clone = structuredClone(original)
    check('structuredClone: Date, Map, Set, typed arrays, cycles', clone !== original && clone.d.getTime() === 5 &&
        clone.m.get(1).x[0] === 1 && clone.m.get(1) !== original.m.get(1) && clone.s.has('a') && clone.b[0] === 9 && clone.self === clone)
    throwsLike('structuredClone of a function', () => structuredClone({ f() {} }), /^DataCloneError/)
    const order = []
    queueMicrotask(() => order.push('micro'))
    setTimeout(() => order.push('timeout'), 0)
    order.push('sync')
    await new Promise((resolve) => setTimeout(resolve, 10))
    check('queueMicrotask runs before timers', order.join() === 'sync,micro,timeout', order.join())
    const t0 = performance.now()
    let ticks = 0
    await new Promise((resolve) => {
        const id = setInterval((step) => { ticks += step; if (ticks === 3) { clearInterval(id); resolve() } }, 5, 1)
    })
    const elapsed = performance.now() - t0
    check('setInterval repeats until cleared', ticks === 3 && elapsed >= 10, `${ticks} ${elapsed}`)
    const never = setInterval(() => { throw new Error('cleared interval ran') }, 1)
    clearTimeout(never)
    check('performance.now is monotonic', performance.now() >= t0 && typeof performance.timeOrigin === 'number')
}

// A server on loopback: answers each request after `delay` ms (never when delay < 0).
// A server on loopback: answers each request after `delay` ms (never when delay < 0).
// Its accept loop polls (100 ms) so that stop() leaves nothing pending.
function slowServer(delay, body) {
    const server = new net.WasiTcpServer(`${host}:0`)
    const held = []
    let stopped = false
    const answer = async (conn) => {
        let head = ''
        while (!head.includes('\r\n\r\n')) {
            const chunk = await conn.read()
            if (chunk.byteLength === 0) return
            head += new TextDecoder().decode(chunk)
        }
        if (delay < 0) { held.push(conn); return }
        await new Promise((resolve) => setTimeout(resolve, delay))
        const target = head.split(' ')[1]
        if (target === '/body') {
            // Echoes the request's Content-Type and Content-Length-framed body (ASCII here).
            const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? -1)
            let body = head.slice(head.indexOf('\r\n\r\n') + 4)
            while (body.length < length) {
                const chunk = await conn.read()
                if (chunk.byteLength === 0) break
                body += new TextDecoder().decode(chunk)
            }
            const type = /content-type: *(.*)/i.exec(head)?.[1] ?? '-'
            const text = `${length}|${type}|${body}`
            conn.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${text.length}\r\n\r\n${text}`)
        } else if (target === '/redirect') {
            conn.write(`HTTP/1.1 302 Found\r\nlocation: /final\r\ncontent-length: 0\r\n\r\n`)
        } else {
            const text = body || `${head.split('\r\n')[0]}|${/user-agent: (.*)/i.exec(head)?.[1] || ''}`
            conn.write(`HTTP/1.1 200 OK\r\nX-Multi: a\r\nx-multi: b\r\ncontent-type: text/plain\r\ncontent-length: ${new TextEncoder().encode(text).length}\r\n\r\n${text}`)
        }
        conn.close()
    }
    ;(async () => {
        while (!stopped) {
            try { answer(await server.accept(100)) } catch (e) { }
        }
        server.close()
    })()
    return {
        local: () => server.local(),
        stop: () => { stopped = true; for (const conn of held) conn.close() },
    }
}

async function fetches() {
    const fast = slowServer(0)
    const base = `http://${fast.local()}`
    const r = await fetch(`${base}/hello?x=1`, { headers: { 'user-agent': 'web.js' } })
    check('global fetch returns a Response', r instanceof Response && r.status === 200 && r.ok && r.statusText === 'OK' &&
        r.url === `${base}/hello?x=1` && r.type === 'basic')
    check('fetched headers are combined and immutable', r.headers.get('x-multi') === 'a, b')
    throwsLike('fetched headers cannot be changed', () => r.headers.set('x', 'y'), /^TypeError/)
    check('fetch sends the request line and headers', (await r.text()) === 'GET /hello?x=1 HTTP/1.1|web.js')
    const redirected = await fetch(`${base}/redirect`)
    check('fetch follows redirects', redirected.redirected && redirected.url === `${base}/final` &&
        (await redirected.text()).startsWith('GET /final '))
    const manual = await fetch(`${base}/redirect`, { redirect: 'manual' })
    check("redirect: 'manual' gives the 302", manual.status === 302 && manual.headers.get('location') === '/final')
    const posted = await fetch(new Request(`${base}/p`, { method: 'POST', body: 'x' }))
    check('fetch takes a Request', (await posted.text()).startsWith('POST /p '))
    const streamed = await (await fetch(`${base}/body`, { method: 'POST', body: ReadableStream.from([utf8('s1'), utf8('s2')]), duplex: 'half' })).text()
    check('fetch sends a stream body whole, with its length', streamed === '4|-|s1s2', streamed)
    const blobbed = await (await fetch(`${base}/body`, { method: 'PUT', body: new Blob(['{}'], { type: 'application/json' }) })).text()
    check('fetch sends a Blob with its type', blobbed === '2|application/json|{}', blobbed)
    const form = new FormData()
    form.append('k', 'v')
    form.append('f', new File(['data'], 'f.txt', { type: 'text/plain' }))
    const [length, type, sent] = (await (await fetch(`${base}/body`, { method: 'POST', body: form })).text()).split('|')
    const echoed = await new Response(sent, { headers: { 'content-type': type } }).formData()
    check('fetch sends a FormData as multipart', Number(length) === sent.length && echoed.get('k') === 'v' &&
        echoed.get('f').name === 'f.txt' && (await echoed.get('f').text()) === 'data', type)
    await rejectsLike('fetch of a bad URL is a TypeError', fetch('not a url'), /^TypeError/)
    await rejectsLike('fetch of an unsupported scheme is a TypeError', fetch('ftp://h/'), /^TypeError/)
    const stalled = slowServer(-1)
    const controller = new AbortController()
    const pending = fetch(`http://${stalled.local()}/`, { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    const aborted = await rejectsLike('abort rejects a pending fetch with an AbortError', pending, /^AbortError: /)
    check('the AbortError is a DOMException', aborted instanceof DOMException && aborted.code === 20)
    const t0 = performance.now()
    await rejectsLike('AbortSignal.timeout rejects with a TimeoutError', fetch(`http://${stalled.local()}/`, { signal: AbortSignal.timeout(50) }), /^TimeoutError: /)
    check('the timeout fired on time', performance.now() - t0 < 2000)
    await rejectsLike('an aborted signal rejects at once', fetch(`${base}/`, { signal: AbortSignal.abort() }), /^AbortError/)
    check('an unused timeout signal does not abort early', !AbortSignal.timeout(10000).aborted)
    fast.stop()
    stalled.stop()
}

function consoleFormat() {
    console.log('%s=%d %i %f %j %o %O %c%%', 'n', 42.5, 42.9, '1.5', { a: [1] }, [1], { b: 2 }, 'color: red')
    console.log({ a: 1, nested: { deeper: { deepest: { x: 1 } } }, list: [1, 'two', null, undefined], m: new Map([['k', 1]]), s: new Set([1]) })
    console.log([new Uint8Array([1, 2]), -0, 10n, Symbol('s'), function named() {}, class K {}, new Date(0)])
    class Point { constructor() { this.x = 1 } }
    const cyclic = { name: 'c' }
    cyclic.self = cyclic
    console.log(new Point(), cyclic, Object.create(null), [], {})
    console.log(new Headers({ a: '1' }), new URLSearchParams('a=1'))
    console.log('%s|%d|%i', 'only one')
    console.log(new Response('x').body, new Blob(['ab'], { type: 'text/plain' }))
}

urls()
headers()
await bodies()
await streams()
await subtleCrypto()
await blobsAndForms()
events()
await globalsAndTimers()
await fetches()
consoleFormat()
console.log(`all ${count} checks passed`)
