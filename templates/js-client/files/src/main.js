// HTTP client in JavaScript on wasock-js: the same request twice, once with fetch() and
// once by hand over a wasi_net connection with wasi_http's encoder and parser.
import * as net from 'wasi_net'
import * as http from 'wasi_http'

const url = process.env.URL ?? 'http://127.0.0.1:8080/'

// fetch, the web's (a global, returning a standard Response): chunked bodies, redirects, an
// AbortSignal to give up. https:// works too (TLS runs inside the app, Mozilla's roots built
// in; SSL_CERT_FILE names a PEM bundle instead, its folder mapped with --dir):
//   const page = await fetch('https://example.com/', { signal: AbortSignal.timeout(10000) })
const response = await fetch(url, { headers: { 'user-agent': 'wasock-js' }, signal: AbortSignal.timeout(10000) })
print(`fetch: ${response.status} ${response.statusText}`)
print(await response.text())

// By hand: connect, write the encoded request, parse the response as it arrives.
const { host, path } = /^http:\/\/(?<host>[^/]+)(?<path>\/.*)?$/.exec(url).groups
const conn = await net.connect(host.includes(':') ? host : host + ':80', 10000)
const request = new http.WasiRequest()
request.uri = path ?? '/'
request.headers = { 'host': host, 'connection': 'close' }
conn.write(request.encode())
const buffer = new http.Buffer()
let parsed
while ((parsed = buffer.parseResponse()) === undefined) {
    buffer.append(await conn.read(10000))
}
conn.close()
print(`wasi_net: ${parsed.status} ${parsed.statusText}, ${parsed.bodyLength} bytes`)
