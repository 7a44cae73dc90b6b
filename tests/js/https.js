// fetch over HTTPS: HTTPS_URL (a server whose certificate a private CA signed; the app's
// SSL_CERT_FILE holds that CA) answers; UNTRUSTED_URL (a server with a self-signed
// certificate) is refused with the certificate error.
async function main() {
    const ok = await fetch(process.env.HTTPS_URL)
    console.log('trusted:', ok.status, ok.ok, (await ok.text()).length > 0)
    try {
        await fetch(process.env.UNTRUSTED_URL)
        console.log('untrusted: answered')
    } catch (error) {
        console.log('untrusted:', error.name, /certificate/.test(error.message))
    }
}

main()
