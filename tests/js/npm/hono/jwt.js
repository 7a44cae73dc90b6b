// Hono's JWT helper as its docs show it (hono.dev/docs/helpers/jwt): HS256 tokens signed
// and verified over crypto.subtle (HMAC-SHA-256). The expected output (jwt.expected.txt)
// is what Node printed for this script.
import { sign, verify, decode } from 'hono/jwt'

const secret = 'mySecretKey'
const payload = { sub: 'user123', role: 'admin', exp: 4102444800 }
const token = await sign(payload, secret)
console.log(token)
console.log(JSON.stringify(await verify(token, secret, 'HS256')))
const { header, payload: decoded } = decode(token)
console.log(JSON.stringify(header), decoded.sub)
for (const [what, attempt] of [
    ['wrong secret', () => verify(token, 'otherSecret', 'HS256')],
    ['tampered payload', () => verify(token.replace(/\.[^.]+\./, `.${btoa(JSON.stringify({ ...payload, role: 'root' })).replace(/=+$/, '')}.`), secret, 'HS256')],
    ['expired', async () => verify(await sign({ sub: 'x', exp: 1000 }, secret), secret, 'HS256')],
]) {
    try {
        await attempt()
        console.log(what, 'accepted')
    } catch (error) {
        console.log(what, 'rejected:', error.name)
    }
}
for (const alg of ['HS384', 'HS512']) {
    const other = await sign({ n: 1 }, secret, alg)
    console.log(alg, other.split('.')[2].length, JSON.stringify(await verify(other, secret, alg)))
}
