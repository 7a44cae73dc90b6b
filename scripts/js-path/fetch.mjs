// Drives the fetch-handler serving path of the wasock-js prelude N times (env N) without the
// network: host.serve is replaced by a stand-in that keeps the prelude's dispatch, then the
// app's default export is served and dispatch is called as serve.rs calls it (a GET / with
// a Host field and the URL the host would have serialized). Used by bench-js-path.sh.
const internals = globalThis[Symbol.for('wasock.internals')]
let dispatch, replies = 0
internals.host.serve = (hostname, port, given) => {
    dispatch = given
    return ['127.0.0.1', 8080, () => {}, (id, status) => { if (status === 200) replies++ }]
}
const app = (await import(process.argv[2])).default
internals.serveFetch(app)
const N = Number(process.env.N)
const empty = new ArrayBuffer(0)
const pairs = () => [['host', '127.0.0.1:8080']]
// Before 3322e87 dispatch returned its answer instead of calling reply: counted too, so that
// older commits can be compared.
const answered = (answer) => { if (Array.isArray(answer) && answer[0] === 200) replies++ }
for (let i = 0; i < N; i++) answered(await dispatch('GET', '/', pairs(), empty, 'http://127.0.0.1:8080/', i))
if (replies !== N) throw new Error(`${replies} of ${N} requests answered 200`)
