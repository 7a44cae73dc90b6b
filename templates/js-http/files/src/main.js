// HTTP echo server in JavaScript on wasock-js: answers every request with `echo: ` and
// the request body, keeps connections alive and parses pipelined requests in order.
import * as net from 'wasi_net'
import * as http from 'wasi_http'

const port = Number(process.env.PORT ?? 1234)

async function serve(conn) {
    const buffer = new http.Buffer()
    try {
        while (true) {
            let request
            while ((request = buffer.parseRequest()) !== undefined) {
                const response = new http.WasiResponse()
                response.headers = { 'content-type': 'text/plain' }
                conn.write(response.encode('echo: ' + newStringFromUTF8(request.body)))
                if ((request.headers.connection ?? '').toLowerCase() === 'close' || request.version === 'HTTP/1.0') {
                    conn.close()
                    return
                }
            }
            const data = await conn.read()
            buffer.append(data)
            if (data.byteLength === 0 && buffer.length === 0) {
                conn.close()
                return
            }
        }
    } catch (e) {
        // A malformed request: answer 400 and close, as wasock's Rust servers do.
        const response = new http.WasiResponse()
        response.status = 400
        response.headers = { 'connection': 'close' }
        try { conn.write(response.encode(String(e.message) + '\n')) } catch (_) { }
        conn.close()
    }
}

const server = new net.WasiTcpServer(port)
print(`listening on http://${server.local()}`)
while (true) {
    serve(await server.accept())
}
