// Node's basics on wasock-js, self-checking: events, buffer, process, url and http (a server
// through wasock's server and a client over fetch). Prints one line per check. Usage: node.js
// HOST (a loopback address to listen on).
import http from 'node:http'
import { createServer, STATUS_CODES } from 'http'
import { EventEmitter, once } from 'events'
import { Buffer as ImportedBuffer } from 'node:buffer'
import process from 'node:process'
import { URL as NodeURL, fileURLToPath } from 'url'

const host = process.argv[process.argv.length - 1]
let count = 0
function check(name, condition, detail) {
    if (!condition) throw new Error(`check failed: ${name}${detail === undefined ? '' : ': ' + detail}`)
    count++
    console.log('ok', name)
}

async function events() {
    const emitter = new EventEmitter()
    const seen = []
    emitter.on('x', (a, b) => seen.push(`on ${a}${b}`))
    emitter.once('x', (a) => seen.push(`once ${a}`))
    emitter.prependListener('x', () => seen.push('first'))
    check('emit returns whether anyone listened', emitter.emit('x', 1, 2) && emitter.emit('x', 3, 4) && !emitter.emit('y'))
    check('on, once, prependListener in order', seen.join('|') === 'first|on 12|once 1|first|on 34', seen.join('|'))
    check('listenerCount and removeAllListeners', emitter.listenerCount('x') === 2 && emitter.removeAllListeners('x').listenerCount('x') === 0)
    let thrown = ''
    try { emitter.emit('error', new Error('unhandled')) } catch (e) { thrown = e.message }
    check("an 'error' nobody listens to throws", thrown === 'unhandled')
    setTimeout(() => emitter.emit('ready', 'now'), 1)
    check('events.once resolves with the arguments', (await once(emitter, 'ready'))[0] === 'now')
}

function buffers() {
    const b = Buffer.from('héllo')
    check('Buffer is the node:buffer one and a Uint8Array', Buffer === ImportedBuffer && b instanceof Uint8Array && Buffer.isBuffer(b))
    check('Buffer.from(string) is UTF-8', b.length === 6 && b.toString() === 'héllo' && Buffer.byteLength('é') === 2)
    // WHATWG's UTF-8 encode: a lone surrogate is U+FFFD (3 bytes); a pair is one 4-byte character.
    check('a lone surrogate is U+FFFD', Buffer.from('\ud800x').toString('hex') === 'efbfbd78' &&
        Buffer.byteLength('\ud800x') === 4 && Buffer.byteLength('\ud83d\ude00') === 4, Buffer.from('\ud800x').toString('hex'))
    check('hex and base64', b.toString('hex') === '68c3a96c6c6f' && b.toString('base64') === 'aMOpbGxv' &&
        Buffer.from('aMOpbGxv', 'base64').equals(b) && Buffer.from('68c3a9', 'hex').toString() === 'hé')
    check('base64url', Buffer.from([251, 255]).toString('base64url') === '-_8' && Buffer.from('-_8', 'base64url')[1] === 255)
    check('concat, alloc, slice shares memory', (() => {
        const joined = Buffer.concat([Buffer.from('ab'), Buffer.alloc(2, 'c')])
        const view = joined.slice(1, 3)
        view[0] = 120
        return joined.toString() === 'axcc' && view instanceof Buffer && view.toString() === 'xc'
    })())
    check('compare, indexOf, includes, toJSON', Buffer.compare(Buffer.from('a'), Buffer.from('b')) === -1 &&
        b.indexOf('llo') === 3 && b.includes('é') && JSON.stringify(Buffer.from([1])) === '{"type":"Buffer","data":[1]}')
}

async function processAndUrl() {
    const order = []
    process.nextTick(() => order.push('tick'))
    await Promise.resolve()
    setTimeout(() => order.push('timeout'), 0)
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setTimeout(resolve, 5))
    check('process.nextTick runs before timers', order.join() === 'tick,timeout', order.join())
    check('process basics', typeof process.env === 'object' && Array.isArray(process.argv) && process.platform === 'wasi' &&
        typeof process.hrtime.bigint() === 'bigint' && process.hrtime()[0] >= 0)
    check('url module', NodeURL === URL && fileURLToPath('file:///a/b%20c') === '/a/b c')
}

async function server() {
    const requests = []
    const srv = createServer(async (req, res) => {
        const chunks = []
        if (req.url === '/iterate') { for await (const chunk of req) chunks.push(chunk) }
        else { req.on('data', (chunk) => chunks.push(chunk)); await once(req, 'end') }
        requests.push(`${req.method} ${req.url} ${req.headers['x-test']} ${Buffer.concat(chunks).toString()}`)
        if (req.url === '/throw') throw new Error('handler threw')
        res.statusCode = 201
        res.setHeader('X-Multi', ['a', 'b'])
        check('getHeader and headersSent before writing', res.getHeader('x-multi').length === 2 && !res.headersSent)
        res.write('part1,')
        check('headersSent after write', res.headersSent)
        res.end('part2')
    })
    await new Promise((resolve) => srv.listen(0, host, resolve))
    const { port, address } = srv.address()
    check('listen gives the address', address === host && port > 0)
    const get = (path, options = {}) => new Promise((resolve, reject) => {
        const req = http.request({ host, port, path, method: options.method || 'GET', headers: { 'x-test': path } }, (res) => {
            let body = ''
            res.setEncoding('utf8')
            res.on('data', (chunk) => { body += chunk })
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
        })
        req.on('error', reject)
        req.end(options.body)
    })
    const first = await get('/data', { method: 'POST', body: 'payload' })
    check('a response through wasock\'s server', first.status === 201 && first.body === 'part1,part2' && first.headers['x-multi'] === 'a, b', JSON.stringify(first))
    const second = await get('/iterate', { method: 'PUT', body: 'more' })
    check('the body by async iteration', second.body === 'part1,part2')
    const broken = await get('/throw')
    check('a handler that throws gives 500', broken.status === 500)
    check('the server saw each request', requests.join('|') === 'POST /data /data payload|PUT /iterate /iterate more|GET /throw /throw ', requests.join('|'))
    const viaGet = await new Promise((resolve) => http.get(`http://${host}:${port}/g`, (res) => resolve(res.statusCode)))
    check('http.get', viaGet === 201)
    check('STATUS_CODES', STATUS_CODES[404] === 'Not Found')
    let closed = false
    srv.on('close', () => { closed = true })
    await new Promise((resolve) => srv.close(resolve))
    // The process ends after this only if close() stopped wasock's server (the test checks).
    check("close() calls back, emits 'close' and stops listening", closed && !srv.listening)
}

await events()
buffers()
await processAndUrl()
await server()
console.log(`all ${count} checks passed`)
