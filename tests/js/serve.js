// A fetch handler as Deno, Bun and Workers serve it (`export default { fetch }`), served by
// wasock-js on PORT through wasock's server. UPSTREAM is an http:// URL /upstream fetches.
const upstream = process.env.UPSTREAM

export default {
    async fetch(request) {
        const url = new URL(request.url)
        switch (url.pathname) {
            case '/':
                return new Response(`${request.method} ${request.url} ${request.headers.get('x-test') ?? '-'}`,
                    { headers: { 'x-served-by': 'fetch' } })
            case '/echo':
                return Response.json({
                    method: request.method,
                    type: request.headers.get('content-type'),
                    body: await request.json(),
                    query: url.searchParams.get('q'),
                }, { status: 201 })
            case '/cookies': {
                const headers = new Headers()
                headers.append('set-cookie', 'a=1')
                headers.append('set-cookie', 'b=2')
                return new Response(null, { status: 204, headers })
            }
            case '/throw':
                throw new Error('boom')
            case '/reject':
                return Promise.reject(new TypeError('rejected'))
            case '/not-a-response':
                return 'text'
            case '/upstream': {
                const answer = await fetch(upstream)
                return new Response(`upstream said ${await answer.text()}`)
            }
            case '/stream': {
                // A body made while the response is on its way (read to its end, then sent).
                let n = 0
                const body = new ReadableStream({
                    async pull(controller) {
                        await new Promise((resolve) => setTimeout(resolve, 5))
                        if (n === 3) return controller.close()
                        controller.enqueue(new TextEncoder().encode(`chunk ${n++}\n`))
                    },
                })
                return new Response(body, { headers: { 'content-type': 'text/plain' } })
            }
            case '/lone-surrogate':
                // A string body with a lone surrogate: the host encodes it as U+FFFD (EF BF BD).
                return new Response('a\ud800b')
            case '/bad-stream':
                return new Response(new ReadableStream({ start(c) { c.enqueue('not bytes'); c.close() } }))
            case '/upload': {
                // ?echo=NAME answers with that entry (a File as the body), else one line per entry.
                const form = await request.formData()
                const echo = url.searchParams.get('echo')
                if (echo) return new Response(form.get(echo))
                const lines = []
                for (const [name, value] of form) {
                    lines.push(typeof value === 'string' ? `${name}=${value}` : `${name}: ${value.name} ${value.type} ${value.size} bytes`)
                }
                return new Response(lines.join('\n') + '\n')
            }
            default:
                return new Response('not found', { status: 404 })
        }
    },
}
