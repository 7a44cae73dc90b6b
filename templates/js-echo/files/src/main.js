// TCP echo server in JavaScript on wasock-js: each connection is served by its own async
// function, so one slow client does not hold up the others.
import * as net from 'wasi_net'

const port = Number(process.env.PORT ?? 1234)

async function serve(conn) {
    try {
        while (true) {
            const data = await conn.read()
            if (data.byteLength === 0) break // the client closed its side
            conn.write('echo:' + newStringFromUTF8(data))
        }
    } catch (e) {
        console.error(`${conn.peer()}: ${e.message}`)
    } finally {
        conn.close()
    }
}

const server = new net.WasiTcpServer(port)
print(`listening on tcp://${server.local()}`)
while (true) {
    serve(await server.accept())
}
