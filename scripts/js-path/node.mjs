// Drives the Node `http.createServer` serving path of the wasock-js prelude N times (env N)
// without the network: host.serve is replaced by a stand-in that keeps the prelude's
// dispatch, the app (which calls listen) is imported, and dispatch is called as serve.rs
// calls it (a GET / with a Host field). Used by bench-js-path.sh.
const internals = globalThis[Symbol.for('wasock.internals')]
let dispatch, replies = 0
internals.host.serve = (hostname, port, given) => {
    dispatch = given
    return ['127.0.0.1', 8080, () => {}, (id, status) => { if (status === 200) replies++ }]
}
await import(process.argv[2])
const N = Number(process.env.N)
const empty = new ArrayBuffer(0)
const pairs = () => [['host', '127.0.0.1:8080']]
for (let i = 0; i < N; i++) {
    // Before 3322e87 dispatch returned a promise of its answer instead of calling reply.
    const answer = dispatch('GET', '/', pairs(), empty, 'http://127.0.0.1:8080/', i)
    if (answer && typeof answer.then === 'function') answer.then((a) => { if (a[0] === 200) replies++ })
    await null
}
if (replies !== N) throw new Error(`${replies} of ${N} requests answered 200`)
