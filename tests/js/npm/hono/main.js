// Hono, a web-standard router, as its docs show it (hono.dev, "Getting started" for
// Cloudflare Workers/Deno/Bun): the app is the module's default export, served on PORT.
// Also its streaming helper (hono.dev/docs/helpers/streaming: a TransformStream's readable
// side as the body), `c.body` with a ReadableStream, and its JWT middleware
// (hono.dev/docs/middleware/builtin/jwt, HS256 over crypto.subtle).
import { Hono } from 'hono'
import { streamText } from 'hono/streaming'
import { jwt, sign } from 'hono/jwt'

const app = new Hono()
const secret = 'it-is-very-secret'

app.get('/', (c) => c.text('Hello Hono!'))
app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null }))
app.post('/echo', async (c) => c.json({ received: await c.req.json() }, 201))
app.get('/stream', (c) =>
    streamText(c, async (stream) => {
        for (const word of ['one', 'two', 'three']) {
            await stream.writeln(word)
            await stream.sleep(5)
        }
    }))
app.get('/body', (c) => c.body(ReadableStream.from(['a', 'b']).pipeThrough(new TextEncoderStream())))
app.get('/token', async (c) => c.text(await sign({ sub: 'test', exp: 4102444800 }, secret)))
app.use('/auth/*', jwt({ secret, alg: 'HS256' }))
app.get('/auth/page', (c) => c.json({ payload: c.get('jwtPayload') }))
app.notFound((c) => c.text('no route for ' + c.req.path, 404))

export default app
