// HTTPS from a script: HTTPS_URL (a server whose certificate a private CA signed; the app's
// SSL_CERT_FILE holds that CA) answers; UNTRUSTED_URL (a server with a self-signed
// certificate) is refused with the certificate error. First through `fetch`, then through
// `wasi_net.WasiTlsConn` as wasmedge-quickjs's scripts call it.
import * as net from 'wasi_net'

async function main() {
    const ok = await fetch(process.env.HTTPS_URL)
    console.log('trusted:', ok.status, ok.ok, (await ok.text()).length > 0)
    try {
        await fetch(process.env.UNTRUSTED_URL)
        console.log('untrusted: answered')
    } catch (error) {
        console.log('untrusted:', error.name, /certificate/.test(error.message))
    }

    const url = new URL(process.env.HTTPS_URL)
    const conn = await net.WasiTlsConn.connect(url.hostname, url.port)
    conn.write(`GET / HTTP/1.0\r\nHost: ${url.host}\r\n\r\n`)
    const decoder = new TextDecoder()
    let text = ''
    // openssl s_server -www sends its page, then closes: read to the end of the page.
    while (!text.includes('</HTML>')) {
        const chunk = await conn.read()
        if (chunk.byteLength === 0) break
        text += decoder.decode(chunk)
    }
    conn.close()
    console.log('WasiTlsConn:', text.split('\r\n')[0], text.includes('</HTML>'))
    const other = new URL(process.env.UNTRUSTED_URL)
    try {
        await net.WasiTlsConn.connect(other.hostname, Number(other.port))
        console.log('WasiTlsConn untrusted: connected')
    } catch (error) {
        console.log('WasiTlsConn untrusted:', /certificate/.test(error.message))
    }
}

main()
