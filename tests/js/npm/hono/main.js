// Hono, a web-standard router, as its docs show it (hono.dev, "Getting started" for
// Cloudflare Workers/Deno/Bun): the app is the module's default export, served on PORT.
import { Hono } from 'hono'

const app = new Hono()

app.get('/', (c) => c.text('Hello Hono!'))
app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null }))
app.post('/echo', async (c) => c.json({ received: await c.req.json() }, 201))
app.notFound((c) => c.text('no route for ' + c.req.path, 404))

export default app
