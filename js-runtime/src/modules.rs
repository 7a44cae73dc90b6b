//! Loading modules into QuickJS: the loader rquickjs calls for every `import` (resolution
//! by [`crate::resolve`], then ES modules, JSON modules and CommonJS files), CommonJS's
//! `require`, and module detection (which files run as ES modules).
//!
//! Detection, as Node's: a file that compiles as a classic script is one (CommonJS for an
//! imported or required file, a global script for the entry); one that does not but
//! compiles as a module (import/export declarations, `import.meta`, top-level `await`) is
//! an ES module. `.mjs` files and `.js` files under `"type": "module"` are modules without
//! trying; `.cjs` and `"type": "commonjs"` are CommonJS.
//!
//! CommonJS runs the Node way: each file's source inside
//! `function (exports, require, module, __filename, __dirname)`, once, cached by path. An
//! `import` of a CommonJS file gets `module.exports` as its default export and each of its
//! own keys that is an identifier as a named export (Node finds those by a static scan; here
//! the file runs when the importing module is loaded, so they are the keys it set). A
//! `require` of an ES module or a builtin returns its namespace (a builtin's `default`
//! export when it has one), evaluated synchronously. A module a package's `browser` field
//! maps to `false` ([`resolve::EMPTY_MODULE`]) loads as an empty CommonJS file.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ffi::CString;
use std::rc::Rc;

use rquickjs::loader::{ImportAttributes, Loader, Resolver as QjsResolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Exception, Function, Module, Object, Value};

use crate::resolve::{self, Files, Format, Kind, Resolver};

/// Where a run's files come from: the disk (a script run by `wasock-js`), or an app's
/// embedded bundle (`crate::bundle`).
pub type AnyFiles = Box<dyn Files>;

impl Files for AnyFiles {
    fn read(&self, path: &str) -> Option<Cow<'_, [u8]>> {
        (**self).read(path)
    }
    fn is_file(&self, path: &str) -> bool {
        (**self).is_file(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        (**self).is_dir(path)
    }
}

/// What the loader, the resolver and `require` share.
pub struct Modules {
    resolver: RefCell<Resolver<AnyFiles>>,
    /// Names of the native modules (`wasi_net`, `http`, ...).
    builtins: Vec<String>,
}

pub type Shared = Rc<Modules>;

impl Modules {
    pub fn new(files: AnyFiles, builtins: Vec<String>) -> Shared {
        Rc::new(Modules {
            resolver: RefCell::new(Resolver::new(files)),
            builtins,
        })
    }

    /// The registered name of a builtin, accepting Node's `node:` prefix either way.
    fn builtin(&self, specifier: &str) -> Option<String> {
        let bare = specifier.strip_prefix("node:").unwrap_or(specifier);
        [
            specifier.to_string(),
            bare.to_string(),
            format!("node:{bare}"),
        ]
        .into_iter()
        .find(|name| self.builtins.contains(name))
    }

    /// A module's source; [`resolve::EMPTY_MODULE`]'s is empty (CommonJS: `module.exports`
    /// stays `{}`).
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        if path == resolve::EMPTY_MODULE {
            return Some(Vec::new());
        }
        self.resolver.borrow().files.read(path).map(Cow::into_owned)
    }

    fn format(&self, path: &str) -> Format {
        self.resolver.borrow_mut().format(path)
    }
}

/// The resolver half of rquickjs's loader pair: specifiers to builtin names or paths.
pub struct ModuleResolver(pub Shared);

impl QjsResolver for ModuleResolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        if let Some(builtin) = self.0.builtin(name) {
            return Ok(builtin);
        }
        let resolved =
            self.0
                .resolver
                .borrow_mut()
                .resolve(name, &resolve::normalize(base), Kind::Import);
        resolved.map_err(|error| Exception::throw_message(ctx, &error.0))
    }
}

/// The loader half: builtins from `native`, files by their format.
pub struct FileLoader {
    pub modules: Shared,
    pub native: Box<dyn Loader>,
}

impl Loader for FileLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        if self.modules.builtins.iter().any(|builtin| builtin == name) {
            return self.native.load(ctx, name, attributes);
        }
        let Some(source) = self.modules.read(name) else {
            return Err(Exception::throw_message(
                ctx,
                &format!("Cannot read module {}", resolve::display_path(name)),
            ));
        };
        let json = attributes
            .as_ref()
            .and_then(|attributes| attributes.get_type().ok().flatten())
            .is_some_and(|kind| kind == "json");
        let format = if json {
            Format::Json
        } else {
            self.modules.format(name)
        };
        let module = match format {
            Format::Json => json_module(ctx, name, &source)?,
            Format::Module => Module::declare(ctx.clone(), name, source)?,
            Format::CommonJs => commonjs_module(ctx, name)?,
            Format::Detect if compiles_as_script(ctx, name, &source) => commonjs_module(ctx, name)?,
            Format::Detect => Module::declare(ctx.clone(), name, source)?,
        };
        set_meta(&module, name)?;
        Ok(module)
    }
}

/// `import.meta.url`, `filename` and `dirname`, as Node sets them.
pub fn set_meta(module: &Module<'_, Declared>, path: &str) -> rquickjs::Result<()> {
    let Ok(meta) = module.meta() else {
        // Native modules have no `import.meta`.
        return Ok(());
    };
    let absolute = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    meta.set("url", format!("file://{absolute}"))?;
    meta.set("filename", path)?;
    meta.set("dirname", resolve::dirname(path))?;
    Ok(())
}

/// A module whose default export is the parsed JSON file.
fn json_module<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    source: &[u8],
) -> rquickjs::Result<Module<'js, Declared>> {
    let text = String::from_utf8_lossy(source);
    // Checked here so a bad file is named; the module parses the same text again.
    ctx.json_parse(text.as_bytes()).map_err(|_| {
        let error = ctx.catch();
        Exception::throw_syntax(
            ctx,
            &format!(
                "{} is not valid JSON: {}",
                resolve::display_path(name),
                crate::errors::describe(ctx, error)
            ),
        )
    })?;
    let literal = serde_json::to_string(&*text).expect("a string serializes");
    Module::declare(
        ctx.clone(),
        name,
        format!("export default JSON.parse({literal});"),
    )
}

/// An ES module over a CommonJS file: the file runs now (once), its `module.exports` is
/// the default export and its identifier keys the named ones.
fn commonjs_module<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js, Declared>> {
    let exports = commonjs(ctx)?
        .get::<_, Function>("load")?
        .call::<_, Value>((name,))?;
    let mut source = String::new();
    let path = serde_json::to_string(name).expect("a string serializes");
    source.push_str(&format!(
        "const m = globalThis[Symbol.for(\"wasock.commonjs\")].load({path});\nexport default m;\n"
    ));
    if let Some(object) = exports.as_object() {
        let mut index = 0;
        for key in object.keys::<String>().flatten() {
            if key == "default" || !is_identifier(&key) {
                continue;
            }
            source.push_str(&format!(
                "const e{index} = m[\"{key}\"];\nexport {{ e{index} as {key} }};\n"
            ));
            index += 1;
        }
    }
    Module::declare(ctx.clone(), name, source)
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Whether `source` compiles as a classic script (QuickJS's compile-only evaluation; nothing
/// runs). False for module syntax, and for source that is no script at all.
pub fn compiles_as_script(ctx: &Ctx<'_>, name: &str, source: &[u8]) -> bool {
    use rquickjs::qjs;
    let (Ok(text), Ok(file)) = (CString::new(source), CString::new(name)) else {
        return false;
    };
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `raw` is the live context of `ctx`; both strings outlive the call; the value
    // and the exception taken are freed once each.
    unsafe {
        let value = qjs::JS_Eval(
            raw,
            text.as_ptr(),
            source.len() as _,
            file.as_ptr(),
            (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32,
        );
        if qjs::JS_IsException(value) {
            qjs::JS_FreeValue(raw, qjs::JS_GetException(raw));
            false
        } else {
            qjs::JS_FreeValue(raw, value);
            true
        }
    }
}

/// The CommonJS machinery (the object `PRELUDE` returns), created on first use.
fn commonjs<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let key: Value = ctx.eval("Symbol.for('wasock.commonjs')")?;
    let globals = ctx.globals();
    globals.get::<_, Object>(key.clone())
}

/// CommonJS in JavaScript: the module cache, `require` functions and `module` objects;
/// resolution, compiling and synchronous imports come from Rust.
const PRELUDE: &str = r#"(function (resolve, compile, importSync) {
  const cache = Object.create(null);
  const dirname = (path) => {
    const at = path.lastIndexOf('/');
    return at < 0 ? '' : at === 0 ? '/' : path.slice(0, at);
  };
  function load(path) {
    const cached = cache[path];
    if (cached) return cached.exports;
    const module = { id: path, filename: path, path: dirname(path), exports: {}, loaded: false, children: [] };
    module.require = makeRequire(path);
    cache[path] = module;
    try {
      if (path.endsWith('.json')) module.exports = JSON.parse(compile(path, true));
      else compile(path, false).call(module.exports, module.exports, module.require, module, path, dirname(path));
    } catch (error) {
      delete cache[path];
      throw error;
    }
    module.loaded = true;
    return module.exports;
  }
  function makeRequire(from) {
    const require = function require(specifier) {
      const [kind, target] = resolve(String(specifier), from);
      return kind === 'commonjs' ? load(target) : importSync(target, kind === 'builtin');
    };
    require.resolve = (specifier) => resolve(String(specifier), from)[1];
    require.cache = cache;
    return require;
  }
  return { load, makeRequire, cache };
})"#;

/// Installs the CommonJS machinery and the global `require` (relative to `entry`, as the
/// main module's in Node), before the entry runs.
pub fn install<'js>(ctx: &Ctx<'js>, modules: &Shared, entry: &str) -> rquickjs::Result<()> {
    let resolver = modules.clone();
    let resolve = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, specifier: String, from: String| -> rquickjs::Result<Vec<String>> {
            if let Some(builtin) = resolver.builtin(&specifier) {
                return Ok(vec!["builtin".to_string(), builtin]);
            }
            let path = resolver
                .resolver
                .borrow_mut()
                .resolve(&specifier, &from, Kind::Require)
                .map_err(|error| {
                    let message = format!("{error}");
                    match Exception::from_message(ctx.clone(), &message) {
                        Ok(exception) => {
                            let _ = exception.set("code", "MODULE_NOT_FOUND");
                            ctx.throw(exception.into_value())
                        }
                        Err(error) => error,
                    }
                })?;
            let kind = match resolver.format(&path) {
                Format::Json | Format::CommonJs => "commonjs",
                Format::Module => "module",
                Format::Detect => {
                    let source = resolver.read(&path).unwrap_or_default();
                    if compiles_as_script(&ctx, &path, &source) {
                        "commonjs"
                    } else {
                        "module"
                    }
                }
            };
            Ok(vec![kind.to_string(), path])
        },
    )?;
    let reader = modules.clone();
    let compile = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, path: String, raw: bool| -> rquickjs::Result<Value<'js>> {
            let Some(source) = reader.read(&path) else {
                return Err(Exception::throw_message(
                    &ctx,
                    &format!("Cannot read module {}", resolve::display_path(&path)),
                ));
            };
            let mut text = String::from_utf8_lossy(&source).into_owned();
            if raw {
                return rquickjs::String::from_str(ctx, &text).map(|s| s.into_value());
            }
            if text.starts_with("#!") {
                // A shebang line is a comment to Node.
                text.replace_range(..2, "//");
            }
            // One line, so the file's line numbers stay right in stacks.
            let wrapped = format!(
                "(function (exports, require, module, __filename, __dirname) {{{text}\n}})"
            );
            let mut options = rquickjs::context::EvalOptions::default();
            options.filename = Some(path);
            options.strict = false;
            ctx.eval_with_options(wrapped, options)
        },
    )?;
    let import_sync = Function::new(
        ctx.clone(),
        |ctx: Ctx<'js>, name: String, builtin: bool| -> rquickjs::Result<Value<'js>> {
            // `name` is a resolved path; QuickJS resolves it again, from the calling file,
            // where a path like `lib/x.mjs` would read as a package: `file://` keeps it a path.
            let specifier = if builtin {
                name
            } else {
                format!("file://{name}")
            };
            let promise = Module::import(&ctx, specifier.as_str())?;
            let namespace: Object = promise.finish()?;
            if builtin && namespace.contains_key("default")? {
                return namespace.get("default");
            }
            Ok(namespace.into_value())
        },
    )?;
    let prelude: Function = ctx.eval(PRELUDE)?;
    let machinery: Object = prelude.call((resolve, compile, import_sync))?;
    let key: Value = ctx.eval("Symbol.for('wasock.commonjs')")?;
    let require = machinery
        .get::<_, Function>("makeRequire")?
        .call::<_, Value>((entry,))?;
    let globals = ctx.globals();
    globals.set(key, machinery)?;
    globals.set("require", require)?;
    Ok(())
}
