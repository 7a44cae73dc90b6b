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
            default:
                return new Response('not found', { status: 404 })
        }
    },
}
