// Checks the web-standard globals against what the WHATWG specs (Fetch, URL, DOM, HTML)
// define and Node 18+ does, printing one line per check; the CLI test counts them and
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
        if (target === '/redirect') {
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
}

urls()
headers()
await bodies()
events()
await globalsAndTimers()
await fetches()
consoleFormat()
console.log(`all ${count} checks passed`)
