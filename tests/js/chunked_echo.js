// A chunked echo server in the style of wasmedge-quickjs's examples: wasi_net accepts,
// wasi_http parses, and the answer is streamed with WasiResponse.chunk(): `echo:` first,
// then the request body, a chunk per word, each after a short pause. Keep-alive: a
// connection serves requests until the client closes it. Usage: chunked_echo.js [PORT]
// (default 8001); it prints `listening on PORT` once it accepts, and a line per request.
import * as net from 'wasi_net'
import * as http from 'wasi_http'

const port = parseInt(scriptArgs[1] || '8001')
const pause = () => new Promise((resolve) => setTimeout(resolve, 5))

async function answer(conn, req) {
    const resp = new http.WasiResponse()
    resp.headers = { 'Content-Type': 'text/plain' }
    const out = resp.chunk(conn)
    out.write('echo:')
    const words = newStringFromUTF8(req.body).split(/(?<= )/)
    for (const word of words) {
        await pause()
        out.write(word)
    }
    print(`${req.method} ${req.uri}: ${words.length} chunks`)
    out.end()
}

async function serve(conn) {
    const buf = new http.Buffer()
    try {
        while (true) {
            const req = buf.parseRequest()
            if (req) {
                await answer(conn, req)
                continue
            }
            const data = await conn.read()
            if (data.byteLength === 0) break
            buf.append(data)
        }
    } catch (e) {
        print('error:', e.message)
    }
    conn.close()
}

const server = new net.WasiTcpServer(port)
print(`listening on ${port}`)
while (true) {
    serve(await server.accept())
}
