//! Node's basics: the `events`, `buffer`, `process`, `url` and `util` modules (with `node:`
//! prefixes), Node's `http` API (added to the builtin `http` module, see `crate::fetch`),
//! and the globals `Buffer`, `global`, `setImmediate` and more of `process` (`nextTick`,
//! `on('exit')`, `hrtime`, `stdout.write`, …).
//!
//! The modules are JavaScript (`prelude.js`, evaluated after the web prelude with its
//! internals). `http.createServer` serves through wasock's server (`crate::serve`), so its
//! apps get wasock's HTTP behaviour; its responses are collected and written at `end()`
//! with a Content-Length (no streaming). `http.request`/`get` run over `fetch`.

use rquickjs::loader::{Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Error, Function, Module, Object, Result};

const PRELUDE: &str = include_str!("prelude.js");

/// The modules and the names each exports (besides `default`, the module object).
const MODULES: &[(&str, &[&str])] = &[
    ("events", &["EventEmitter", "once"]),
    ("buffer", &["Buffer", "constants", "kMaxLength"]),
    ("process", &["env", "argv", "exit", "nextTick", "platform", "version", "versions", "cwd", "hrtime", "stdout", "stderr"]),
    ("url", &["URL", "URLSearchParams", "fileURLToPath", "pathToFileURL"]),
    ("util", &["inspect", "format", "inherits"]),
];

/// The names of Node's `http` that the builtin `http` module exports beside `fetch`.
pub const HTTP_EXPORTS: &[&str] = &[
    "createServer", "request", "get", "Server", "IncomingMessage", "ServerResponse",
    "ClientRequest", "STATUS_CODES", "METHODS", "Agent", "globalAgent", "maxHeaderSize",
];

/// Evaluates the Node prelude (after [`crate::web::install`]).
pub fn install(ctx: &Ctx<'_>) -> Result<()> {
    let internals = crate::web::internals(ctx)?;
    let prelude: Function = crate::web::evaluate(ctx, "wasock:node", PRELUDE)?;
    prelude.call((internals,))
}

/// The module object `name` (`events`, `http`, …) of the Node prelude.
pub fn module<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Object<'js>> {
    let modules: Object = ctx.eval("globalThis[Symbol.for('wasock.node')]")?;
    modules.get(name)
}

/// Resolves `events`, `buffer`, `process`, `url`, `util` and their `node:` names, and
/// `node:http` as `http`.
pub struct NodeResolver;

impl Resolver for NodeResolver {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        _base: &str,
        name: &str,
        _attributes: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> Result<String> {
        let bare = name.strip_prefix("node:").unwrap_or(name);
        if bare == "http" && name != bare {
            return Ok("http".into());
        }
        if MODULES.iter().any(|(known, _)| *known == bare) {
            return Ok(format!("node:{bare}"));
        }
        Err(Error::new_resolving("", name))
    }
}

/// Loads the modules [`NodeResolver`] names (`node:events`, …): each re-exports the
/// prelude's module object as `default` and its named exports.
pub struct NodeLoader;

impl Loader for NodeLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<rquickjs::loader::ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        let bare = name.strip_prefix("node:").unwrap_or(name);
        let Some((_, exports)) = MODULES.iter().find(|(known, _)| *known == bare && name != bare) else {
            return Err(Error::new_loading(name));
        };
        let source = format!(
            "const m = globalThis[Symbol.for('wasock.node')].{bare}\nexport default m\nexport const {{ {} }} = m\n",
            exports.join(", ")
        );
        Module::declare(ctx.clone(), name, source)
    }
}
