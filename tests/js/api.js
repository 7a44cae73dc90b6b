// Exercises every function of wasock-js against itself on loopback and prints one line
// per check; the CLI test compares the whole output. Usage: api.js HOST CLOSED_PORT
// (HOST: a loopback address to listen on; CLOSED_PORT: a port nobody listens on there).
import * as net from 'wasi_net'
import * as http from 'wasi_http'
import { fetch } from 'http'

const host = scriptArgs[1]
const closedPort = scriptArgs[2]

function check(name, condition, detail) {
    if (!condition) {
        throw new Error(`check failed: ${name}${detail === undefined ? '' : ': ' + detail}`)
    }
    print('ok', name)
}

async function rejects(name, promise, pattern) {
    try {
        await promise
    } catch (e) {
        check(name, e instanceof Error && pattern.test(e.message), e.message)
        return
    }
    throw new Error(`check failed: ${name}: did not reject`)
}

const text = (bytes) => newStringFromUTF8(bytes)

async function readAll(conn) {
    let chunks = ''
    while (true) {
        const d = await conn.read(5000)
        if (d.byteLength === 0) return chunks
        chunks += text(d)
    }
}

async function tcp() {
    const server = new net.WasiTcpServer(`${host}:0`)
    const addr = server.local()
    check('server.local', addr.startsWith(host + ':') && !addr.endsWith(':0'), addr)
    const accepted = server.accept(5000)
    const client = await net.connect(addr, 5000)
    const conn = await accepted
    check('connect/accept addresses', client.peer() === addr && conn.local() === addr && conn.peer() === client.local())
    client.write('str|')
    client.write(new TextEncoder().encode('u8|'))
    client.write(new TextEncoder().encode('ab|').buffer)
    client.write(new DataView(new TextEncoder().encode('xdvx').buffer, 1, 2))
    client.close()
    check('write kinds, close, read to EOF', (await readAll(conn)) === 'str|u8|ab|dv')
    check('read after EOF is empty', (await conn.read()).byteLength === 0)
    await rejects('write after close throws', (async () => client.write('late'))(), /write to .*closed/)
    const idle = await net.WasiTcpConn.connect(addr)
    const idlePeer = await server.accept()
    await rejects('read timeout names the peer', idle.read(50), new RegExp(`^read from ${addr}: timed out after 50 ms$`))
    idlePeer.write('after timeout')
    check('read works after a timeout', text(await idle.read(5000)) === 'after timeout')
    await rejects('accept timeout names the address', server.accept(30), new RegExp(`^accept on ${addr}: timed out after 30 ms$`))
    await rejects('connect refused names the address', net.connect(`${host}:${closedPort}`), new RegExp(`^connect to ${host}:${closedPort}: `))
    await rejects('connect to a bad address', net.connect('not an address'), /^connect to not an address: /)
    let thrown = ''
    try { new net.WasiTcpServer(addr) } catch (e) { thrown = e.message }
    check('listen on a busy address throws', thrown.startsWith(`listen on ${addr}: `), thrown)
    try { client.read('soon') } catch (e) { thrown = e.message }
    check('bad timeout is a TypeError', /timeout must be a number/.test(thrown), thrown)
    server.close()
    await rejects('accept after close', server.accept(), /server is closed/)
}

function codec() {
    const buf = new http.Buffer()
    check('parseRequest incomplete is undefined', buf.parseRequest() === undefined)
    buf.append('POST /a?b=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel')
    check('partial body is undefined', buf.parseRequest() === undefined)
    buf.append('loGET /two HTTP/1.1\r\nHost: x\r\n\r\n')
    const first = buf.parseRequest()
    check('request fields', first instanceof http.WasiRequest && first.method === 'POST' && first.uri === '/a?b=1' &&
        first.version === 'HTTP/1.1' && first.headers.host === 'x' && text(first.body) === 'hello')
    const second = buf.parseRequest()
    check('pipelined request', second.uri === '/two' && second.body.byteLength === 0 && buf.length === 0)
    buf.append('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n')
    let thrown = ''
    try { buf.parseRequest() } catch (e) { thrown = e.message }
    check('conflicting framing throws', /^parseRequest: .*Transfer-Encoding and Content-Length/.test(thrown), thrown)

    const req = new http.WasiRequest()
    req.method = 'put'
    req.uri = '/up'
    req.headers = { 'Host': 'h', 'X-N': 7 }
    req.setHeader('x-extra', 'e')
    req.body = new Uint8Array([104, 105])
    const wire = text(req.encode())
    check('request encode', wire.startsWith('PUT /up HTTP/1.1\r\n') && /\r\nx-n: 7\r\n/i.test(wire) &&
        /\r\ncontent-length: 2\r\n/.test(wire) && wire.endsWith('\r\n\r\nhi') && req.getHeader('X-EXTRA') === 'e', JSON.stringify(wire))
    req.headers = { 'bad header': 'x' }
    try { req.encode() } catch (e) { thrown = e.message }
    check('invalid header name throws', /`bad header` is not a valid header name/.test(thrown), thrown)

    const resp = new http.WasiResponse()
    resp.status = 404
    resp.headers = { 'Content-Type': 'text/plain' }
    const encoded = resp.encode('gone')
    const back = new http.Buffer(encoded).parseResponse()
    check('response encode/parse', back instanceof http.WasiResponse && back.status === 404 && back.statusText === 'Not Found' &&
        back.headers['content-type'] === 'text/plain' && text(back.body) === 'gone' && back.bodyLength === 4)
    const chunked = new http.Buffer()
    chunked.append('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n')
    check('chunked response incomplete', chunked.parseResponse() === undefined)
    chunked.append('2\r\nde\r\n0\r\n\r\n')
    const whole = chunked.parseResponse()
    check('chunked response decoded', text(whole.body) === 'abcde' && whole.bodyLength === 5 && chunked.length === 5)
    const untilClose = new http.Buffer()
    untilClose.append('HTTP/1.0 200 OK\r\n\r\nrest')
    check('close-framed response waits for EOF', untilClose.parseResponse() === undefined)
    untilClose.append(new ArrayBuffer(0))
    check('close-framed response at EOF', text(untilClose.parseResponse().body) === 'rest')
}

// The buffer keeps its decoder between calls: a message fed a byte at a time, a script that
// reads or clears the buffer in between, and an error followed by clear() all parse as if
// each call started afresh.
function incremental() {
    const wire = 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n' +
        'GET /next HTTP/1.1\r\nHost: x\r\n\r\nGET /par'
    const buf = new http.Buffer()
    const seen = []
    let req
    for (const ch of wire) {
        buf.append(ch)
        if ((req = buf.parseRequest())) seen.push(req.uri + '=' + text(req.body))
    }
    check('chunked request a byte at a time, then pipelined', seen.join(',') === '/c=abcdefg,/next=' &&
        text(buf.buffer) === 'GET /par' && buf.length === 8, seen.join(',') + ' | ' + text(buf.buffer))
    buf.append('t HTTP/1.1\r\nHost: x\r\n\r\n')
    check('rest of a pipelined request', buf.parseRequest().uri === '/part' && buf.length === 0)

    const half = new http.Buffer()
    half.append('POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab')
    check('incomplete request stays in the buffer', half.parseRequest() === undefined && half.length === 50 &&
        text(half.buffer).endsWith('\r\n\r\nab'), String(half.length))
    half.clear()
    half.append('GET /b HTTP/1.1\r\nHost: x\r\n\r\n')
    const after = half.parseRequest()
    check('clear() forgets a request half parsed', after.uri === '/b' && after.method === 'GET' && half.length === 0)

    const bad = new http.Buffer('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n')
    let thrown = ''
    try { bad.parseRequest() } catch (e) { thrown = e.message }
    try { bad.parseRequest() } catch (e) { thrown += ' | ' + e.message }
    check('a malformed request throws on every call', /^parseRequest: .* \| parseRequest: /.test(thrown), thrown)
    bad.clear()
    bad.append('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')
    check('clear() after an error parses again', bad.parseRequest().uri === '/ok')

    // WasmEdge's idiom: the response body is in the buffer once buf.length >= bodyLength.
    const resp = new http.Buffer()
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n'
    let parsed
    for (const piece of [head.slice(0, 10), head.slice(10), 'abc', 'def', 'HTTP/1.1 204 No']) {
        resp.append(piece)
        parsed = parsed || resp.parseResponse()
    }
    check('response in pieces: body then what followed', parsed.status === 200 && resp.length >= parsed.bodyLength &&
        text(resp.buffer) === 'abcdefHTTP/1.1 204 No', text(resp.buffer))
    resp.clear()
    resp.append('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n')
    check('parseResponse after clear()', resp.parseResponse().status === 201 && resp.length === 0)
}

// A response to HEAD ends with its head (RFC 9112 §6.3): its Content-Length is the length a
// GET would have got, and no body follows. parseResponse is told the request's method (a
// name or the WasiRequest), as wasock's decoder is; without it a response is a GET's.
function headResponses() {
    const buf = new http.Buffer('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' +
        'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno')
    const head = buf.parseResponse('HEAD')
    check('response to HEAD ends with its head', head instanceof http.WasiResponse && head.status === 200 &&
        head.bodyLength === 0 && head.headers['content-length'] === '1000' && buf.length === 47, String(head && buf.length))
    const next = buf.parseResponse()
    check('the response after it is a GET\'s', next.status === 404 && text(next.body) === 'no' && buf.length === 2)
    const req = new http.WasiRequest()
    req.method = 'head'
    const byRequest = new http.Buffer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').parseResponse(req)
    check('parseResponse takes the WasiRequest', byRequest && byRequest.bodyLength === 0)
    check('a GET\'s response waits for its body', new http.Buffer('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n').parseResponse('GET') === undefined)
    let thrown = ''
    try { new http.Buffer('HTTP/1.1 200 OK\r\n\r\n').parseResponse('NOT A METHOD') } catch (e) { thrown = e.message }
    check('parseResponse with a bad method throws', /^parseResponse: `NOT A METHOD` is not a valid method/.test(thrown), thrown)
}

// WasiResponse.chunk(conn) (wasmedge-quickjs's chunked writer): the head with
// `transfer-encoding: chunked` at once, a chunk per write(), the last chunk at end().
function chunkedWriter() {
    const sink = new http.Buffer()
    const resp = new http.WasiResponse()
    resp.headers = { 'Content-Type': 'text/plain', 'Content-Length': '99' }
    const out = resp.chunk(sink)
    const head = text(sink.buffer)
    check('chunk() writes the head at once', head.startsWith('HTTP/1.1 200 OK\r\n') && head.endsWith('\r\n\r\n') &&
        /\r\ntransfer-encoding: chunked\r\n/.test(head) && /\r\ncontent-type: text\/plain\r\n/.test(head) &&
        !/content-length/i.test(head), JSON.stringify(head))
    check('chunk() returns a ChunkResponse', out instanceof http.ChunkResponse && out.write('hello ') === true)
    out.write('')
    out.write(new TextEncoder().encode('wor'))
    out.end('ld')
    check('chunks on the wire, an empty write sends nothing', text(sink.buffer) === head + '6\r\nhello \r\n3\r\nwor\r\n2\r\nld\r\n0\r\n\r\n',
        JSON.stringify(text(sink.buffer)))
    const parsed = sink.parseResponse()
    check('a chunked answer parses back', parsed.status === 200 && text(parsed.body) === 'hello world')
    let thrown = ''
    try { out.write('late') } catch (e) { thrown = e.message }
    check('write after end() throws', /^ChunkResponse.write: the response has ended/.test(thrown), thrown)
    try { resp.chunk('not a connection') } catch (e) { thrown = e.message }
    check('chunk() needs a connection', /^WasiResponse.chunk: expected a connection/.test(thrown), thrown)
    resp.status = 204
    try { resp.chunk(new http.Buffer()) } catch (e) { thrown = e.message }
    check('chunk() refuses a status without a body', /^WasiResponse.chunk: a 204 response has no body/.test(thrown), thrown)
}

// Over loopback: a server answering HEAD with the length a GET would get, keeping the
// connection open; the client's read-and-parse loop ends after the head.
async function headOverLoopback() {
    const server = new net.WasiTcpServer(`${host}:0`)
    const addr = server.local()
    const served = (async () => {
        const conn = await server.accept()
        const buf = new http.Buffer()
        let req
        while (!(req = buf.parseRequest())) buf.append(await conn.read())
        conn.write(`HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Method: ${req.method}\r\n\r\n`)
        await conn.read()
        conn.close()
    })()
    const conn = await net.connect(addr)
    const req = new http.WasiRequest()
    req.method = 'HEAD'
    req.headers = { Host: 'x' }
    conn.write(req.encode())
    const buf = new http.Buffer()
    let resp
    while (!(resp = buf.parseResponse(req))) buf.append(await conn.read(5000))
    check('HEAD over loopback: the head alone completes the response', resp.headers['x-method'] === 'HEAD' &&
        resp.headers['content-length'] === '11' && resp.bodyLength === 0)
    conn.close()
    await served
    server.close()
}

// Over loopback: a chunked request body split across writes, with a pipelined request in
// the last write, parsed read by read; a response body split across writes read with the
// `buf.length >= resp.bodyLength` idiom.
async function splitReads() {
    const server = new net.WasiTcpServer(`${host}:0`)
    const addr = server.local()
    const served = (async () => {
        const conn = await server.accept()
        const buf = new http.Buffer()
        const uris = []
        while (uris.length < 2) {
            const req = buf.parseRequest()
            if (req) {
                uris.push(req.uri + '=' + text(req.body))
                continue
            }
            const data = await conn.read()
            if (data.byteLength === 0) break
            buf.append(data)
        }
        const resp = new http.WasiResponse()
        const body = uris.join(',')
        const wire = text(resp.encode(body))
        const cut = wire.length - body.length + 3
        conn.write(wire.slice(0, cut))
        await new Promise((resolve) => setTimeout(resolve, 20))
        conn.write(wire.slice(cut))
        conn.close()
    })()
    const conn = await net.WasiTcpConn.connect(addr)
    const pause = () => new Promise((resolve) => setTimeout(resolve, 20))
    conn.write('POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel')
    await pause()
    conn.write('lo\r\n6\r\n world\r\n')
    await pause()
    conn.write('0\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n')
    const buf = new http.Buffer()
    let resp
    while (true) {
        const data = await conn.read()
        buf.append(data)
        resp = resp || buf.parseResponse()
        if ((resp && buf.length >= resp.bodyLength) || data.byteLength === 0) break
    }
    await served
    check('split reads: chunked body, pipelined request, response body idiom',
        resp && text(buf.buffer) === '/up=hello world,/second=', resp ? text(buf.buffer) : 'no response')
    conn.close()
    server.close()
}

async function fetches() {
    // A chunked response from a server written with wasi_net, and an echo of the request.
    const server = new net.WasiTcpServer(`${host}:0`)
    const addr = server.local()
    ;(async () => {
        for (let i = 0; i < 3; i++) {
            const conn = await server.accept()
            const buf = new http.Buffer()
            let req
            while (!(req = buf.parseRequest())) buf.append(await conn.read())
            if (req.uri === '/chunked') {
                conn.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n')
                conn.write('5\r\nhello\r\n')
                setTimeout(() => { conn.write('6\r\n world\r\n0\r\n\r\n'); conn.close() }, 20)
            } else if (req.uri === '/stream') {
                const resp = new http.WasiResponse()
                resp.headers = { 'Connection': 'close' }
                const out = resp.chunk(conn)
                out.write('str')
                setTimeout(() => { out.end('eam'); conn.close() }, 20)
            } else {
                const resp = new http.WasiResponse()
                resp.headers = { 'Content-Type': 'application/json', 'Connection': 'close' }
                conn.write(resp.encode(JSON.stringify({ method: req.method, type: req.headers['content-type'], body: text(req.body) })))
                conn.close()
            }
        }
    })()
    const chunked = await fetch(`http://${addr}/chunked`)
    check('fetch chunked', chunked.status === 200 && chunked.ok && (await chunked.text()) === 'hello world')
    const streamed = await fetch(`http://${addr}/stream`)
    check('fetch a ChunkResponse', streamed.status === 200 && streamed.headers['transfer-encoding'] === 'chunked' &&
        (await streamed.text()) === 'stream')
    const posted = await fetch(`http://${addr}/json`, { method: 'POST', headers: { 'Content-Type': 'text/x' }, body: 'payload' })
    const json = await posted.json()
    check('fetch POST json', json.method === 'POST' && json.type === 'text/x' && json.body === 'payload' &&
        posted.headers['content-type'] === 'application/json', JSON.stringify(json))
    check('fetch arrayBuffer', (await posted.arrayBuffer()).byteLength > 0)
    await rejects('fetch refused names method and url', fetch(`http://${host}:${closedPort}/x`), new RegExp(`^fetch GET http://${host}:${closedPort}/x: `))
    server.close()
}

async function timers() {
    const order = []
    const t = setTimeout(() => order.push('cleared'), 10)
    setTimeout((a, b) => order.push(a + b), 30, 'late', '!')
    setTimeout(() => order.push('early'), 5)
    clearTimeout(t)
    // A cleared long timer must not keep the script alive (the test bounds the run time).
    clearTimeout(setTimeout(() => order.push('never'), 600000))
    await new Promise((resolve) => setTimeout(resolve, 60))
    check('timers order and clearTimeout', order.join(',') === 'early,late!', order.join(','))
}

function globals() {
    const bytes = new TextEncoder().encode('héllo')
    check('TextEncoder', bytes instanceof Uint8Array && bytes.length === 6)
    check('TextDecoder', new TextDecoder().decode(bytes) === 'héllo' && new TextDecoder('utf-8').encoding === 'utf-8')
    check('newStringFromUTF8 replaces invalid bytes', newStringFromUTF8(new Uint8Array([0x61, 0xff])) === 'a\ufffd')
    console.log('console.log', { a: 1 }, [1, 'x'], null, undefined, 1.5)
    console.error('to stderr')
}

globals()
codec()
incremental()
headResponses()
chunkedWriter()
await tcp()
await headOverLoopback()
await splitReads()
await fetches()
await timers()
print('all done')
