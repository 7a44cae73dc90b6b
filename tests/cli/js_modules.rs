//! ES modules, CommonJS and npm packages in the JS runtime (issue 23): module detection
//! (top-level `await`, `import.meta`), Node's resolution (relative files, JSON, `#imports`,
//! `node_modules` packages through `exports` conditions and patterns, `module`, `main`, a
//! package's own name through its `exports`, the `browser` field's entry and replacements),
//! CommonJS through `require` and as the default export of an import, and the error of an
//! import that does not resolve. Scripts run with `run --js` on the engine and directly on
//! the real WasmEdge (interpreted and AOT) where it is installed, outputs compared.
//!
//! The fixture `tests/js/modules/` is a small app with hand-written packages in its
//! `node_modules` (an ES package with `node`/`worker` builds, a CommonJS package, a
//! `module.exports = function` package, a scoped package with `module` and `main`, a
//! package with a string `browser` entry and one whose `browser` object swaps a file for
//! another and `fs` and a file for empty modules); its own `package.json` has `exports`
//! for `packages.js` to import the app by name.
//!
//! Real npm packages (`tests/js/npm/`): each app ships its `package.json` and lockfile and
//! is installed here with `npm ci`; `uuid`, `zod` and the CommonJS `ms` run as scripts
//! (their output is `expected.txt`, what Node printed for the same script), and `project/`
//! is a JS project whose build embeds its module graph, run from a folder without files;
//! `hono` (a web-standard router) serves its docs' app as a fetch handler, tried with
//! requests on the engine (with its streaming helper and JWT middleware), and its
//! `hono/jwt` helper signs and verifies HS256 tokens as a script on every runtime.
//! Without npm these tests are skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::js::{
    assert_same, body_of, exchange, js_command, js_fixture, new_js_project, repo_root,
    response_complete, runtimes, script_command, start, stop, Outcome, Runtime,
};
use crate::support::{build_lock, free_port, printed_path, shared_target_dir, Sandbox};
use crate::tls::curl;

/// Copies the folder `from` into `to` (created), files and folders alike.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's folder");
    for entry in std::fs::read_dir(from).expect("list the fixture") {
        let entry = entry.expect("list the fixture");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("inspect the fixture").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy the fixture");
        }
    }
}

/// Each script of the fixture and what it prints, exactly.
const EXPECTED: &[(&str, &str)] = &[
    (
        "main.js",
        "relative: 5 8 package import\n\
         json: fixture-config 3\n\
         commonjs: hello esm! 1.2.3 true number\n\
         module.exports = function: 1 shared\n\
         exports conditions: the web build\n\
         subpath pattern: alpha\n\
         module field: the ES build\n\
         require in a module file: hello require!\n\
         not exported: true\n",
    ),
    (
        "packages.js",
        "self-reference: package import 3\n\
         browser object: the web build {} {}\n\
         browser false in require: {\"fs\":{},\"serverOnly\":{}}\n\
         browser string: the browser entry the browser entry\n",
    ),
    ("tla.js", "top-level await: 42\n"),
    ("meta.js", "import.meta: file:///meta.js meta.js true\n"),
    (
        "classic.js",
        "classic: global var function\nrequire from a script: hello script! fixture-config\n",
    ),
    (
        "missing-require.js",
        "MODULE_NOT_FOUND Cannot find module './lib/nothing-here' imported from ./missing-require.js\n",
    ),
];

/// Runs each `(folder, script, expected stdout)` on `runtime` in turn and checks that it
/// succeeds with exactly that output: the outcome, all outputs in order, for comparing
/// runtimes.
fn expect_outputs(runtime: Runtime, sandbox: &Sandbox, runs: &[(&Path, &str, &str)]) -> Outcome {
    let _build = build_lock();
    let mut outcome = Outcome::default();
    for (app, script, expected) in runs {
        let output = script_command(runtime, sandbox, app, script, &[])
            .output()
            .expect("run the script");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let label = app.join(script);
        assert!(
            output.status.success(),
            "{runtime:?} {}: {}\n{stdout}",
            label.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(stdout, *expected, "{runtime:?} {}", label.display());
        outcome.stdout.push_str(&stdout);
    }
    outcome.exit = Some(0);
    outcome
}

#[test]
fn module_syntax_is_detected_and_imports_resolve_as_node_resolves_them() {
    let test = "module_syntax_is_detected_and_imports_resolve_as_node_resolves_them";
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let app = sandbox.work().join("app");
        copy_tree(&js_fixture("modules"), &app);
        let runs: Vec<_> = EXPECTED
            .iter()
            .map(|(script, expected)| (app.as_path(), *script, *expected))
            .collect();
        outcomes.push((runtime, expect_outputs(runtime, &sandbox, &runs)));
    }
    assert_same(test, &outcomes);
}

#[test]
fn an_unresolved_import_names_the_specifier_and_the_file_that_imports_it() {
    let test = "an_unresolved_import_names_the_specifier_and_the_file_that_imports_it";
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let app = sandbox.work().join("app");
        copy_tree(&js_fixture("modules"), &app);
        let _build = build_lock();
        // missing.js imports lib/uses-missing.js, which imports a package that is not there.
        let output = script_command(runtime, &sandbox, &app, "missing.js", &[])
            .output()
            .expect("run the script");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{runtime:?}: {stderr}");
        assert!(
            stderr.contains(
                "Cannot find package 'no-such-package' imported from ./lib/uses-missing.js"
            ),
            "{runtime:?}: {stderr}"
        );
        outcomes.push((
            runtime,
            Outcome {
                exit: output.status.code(),
                ..Outcome::default()
            },
        ));
    }
    assert_same(test, &outcomes);
}

/// `npm ci` in `dir` (from its lockfile, quietly); `false` with a note when npm is missing.
fn npm_ci(dir: &Path, test: &str) -> bool {
    if which_npm().is_none() {
        eprintln!(
            "note: npm not found; {test} was skipped\nhelp: run scripts/install-test-deps.sh"
        );
        return false;
    }
    let output = Command::new("npm")
        .current_dir(dir)
        .args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
            "--loglevel=error",
        ])
        .output()
        .expect("run npm ci");
    assert!(
        output.status.success(),
        "npm ci in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    true
}

fn which_npm() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("npm"))
            .find(|path| path.is_file())
    })
}

#[test]
fn npm_packages_run_as_their_docs_show() {
    let test = "npm_packages_run_as_their_docs_show";
    let sandbox = Sandbox::new();
    let mut apps = Vec::new();
    for (name, script, expected) in [
        ("uuid", "main.js", "expected.txt"),
        ("zod", "main.js", "expected.txt"),
        ("commonjs", "main.js", "expected.txt"),
        // hono/jwt's HS256 tokens: crypto.subtle's HMAC.
        ("hono", "jwt.js", "jwt.expected.txt"),
    ] {
        let app = sandbox.work().join(name);
        copy_tree(&js_fixture("npm").join(name), &app);
        if !npm_ci(&app, test) {
            return;
        }
        let expected = std::fs::read_to_string(app.join(expected))
            .unwrap_or_else(|error| panic!("read {name}/{expected}: {error}"));
        apps.push((app, script, expected));
    }
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let runs: Vec<_> = apps
            .iter()
            .map(|(app, script, expected)| (app.as_path(), *script, expected.as_str()))
            .collect();
        outcomes.push((runtime, expect_outputs(runtime, &sandbox, &runs)));
    }
    assert_same(test, &outcomes);
}

/// A JS project (`package.json` beside `src/main.js`, here over the `js-client` template's
/// Cargo files) importing a local module, JSON and npm packages: `build --release` embeds
/// them (not its `devDependencies`), and the module runs with no folder mapped, on the
/// engine and on WasmEdge; `run --js src/main.js` runs the same code from the disk.
#[test]
fn a_js_project_build_embeds_its_module_graph() {
    const FIRST_LINE: &str =
        "hello.example.com: fdda765f-fc57-5604-a269-52a7df8164ec (timeout 2000 ms)\n";
    let test = "a_js_project_build_embeds_its_module_graph";
    let sandbox = Sandbox::new();
    let project = new_js_project(&sandbox, "npm-project", "js-client");
    std::fs::remove_file(project.join("src/main.js")).expect("remove the template's script");
    copy_tree(&js_fixture("npm/project"), &project);
    if !npm_ci(&project, test) {
        return;
    }
    let output = {
        let _build = build_lock();
        sandbox
            .std_cmd()
            .current_dir(&project)
            .args(["build", "--release", "--target-dir"])
            .arg(shared_target_dir())
            .output()
            .expect("run build")
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // Run from elsewhere, with nothing mapped: every import comes from the module.
    let module = sandbox.work().join("elsewhere/npm-project.wasm");
    std::fs::create_dir_all(module.parent().expect("a folder")).expect("create the folder");
    std::fs::copy(printed_path(&stderr, "Built"), &module).expect("copy the module");
    let ran = sandbox.run_module_on_each(test, &module, &[]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        format!("{FIRST_LINE}devDependencies bundled: false\n")
    );

    // `run --js src/main.js` reads the disk from the package root (the folder with
    // package.json), where node_modules also holds the devDependencies.
    let _build = build_lock();
    let output = js_command(&sandbox, &project, "src/main.js", &[], &[])
        .output()
        .expect("run --js");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{FIRST_LINE}devDependencies bundled: true\n")
    );
}

/// Hono's app (`export default app`: it has `fetch(request)`) served by `run --js` on the
/// engine: a text route, a parameter and query, a JSON POST, its `notFound` handler, its
/// streaming helper and `c.body(stream)` (ReadableStream bodies), and its JWT middleware
/// (crypto.subtle's HMAC) letting a token it signed through and refusing others.
#[test]
fn a_router_from_npm_serves_its_docs_app() {
    let test = "a_router_from_npm_serves_its_docs_app";
    let sandbox = Sandbox::new();
    let app = sandbox.work().join("hono");
    copy_tree(&js_fixture("npm/hono"), &app);
    if !npm_ci(&app, test) {
        return;
    }
    let port = free_port();
    let server = start(
        js_command(&sandbox, &app, "main.js", &["--env", &format!("PORT={port}")], &[]),
        port,
    );
    let ask = |request: &str| {
        let reply = exchange(port, request.as_bytes(), response_complete);
        let head = String::from_utf8_lossy(&reply).lines().next().unwrap_or_default().to_string();
        (head, String::from_utf8_lossy(body_of(&reply)).into_owned())
    };
    let get = |path: &str| ask(&format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    assert_eq!(get("/"), ("HTTP/1.1 200 OK".into(), "Hello Hono!".into()));
    assert_eq!(
        get("/users/42?q=x"),
        ("HTTP/1.1 200 OK".into(), r#"{"id":"42","q":"x"}"#.into())
    );
    let body = r#"{"a":[1,2]}"#;
    assert_eq!(
        ask(&format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )),
        ("HTTP/1.1 201 Created".into(), r#"{"received":{"a":[1,2]}}"#.into())
    );
    assert_eq!(
        get("/nope"),
        ("HTTP/1.1 404 Not Found".into(), "no route for /nope".into())
    );
    // The streaming helper sets `Transfer-Encoding: chunked` itself: curl decodes it.
    let url = format!("http://127.0.0.1:{port}");
    assert_eq!(curl(&[&format!("{url}/stream")]), "one\ntwo\nthree\n");
    assert_eq!(curl(&[&format!("{url}/body")]), "ab");
    let (status, token) = get("/token");
    assert_eq!(status, "HTTP/1.1 200 OK");
    let with_token = |token: &str| {
        ask(&format!(
            "GET /auth/page HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        ))
    };
    assert_eq!(
        with_token(&token),
        ("HTTP/1.1 200 OK".into(), r#"{"payload":{"sub":"test","exp":4102444800}}"#.into())
    );
    assert_eq!(with_token(&format!("{token}x")).0, "HTTP/1.1 401 Unauthorized");
    assert_eq!(get("/auth/page").0, "HTTP/1.1 401 Unauthorized");
    let printed = stop(server);
    assert!(printed.contains(&format!("listening on http://127.0.0.1:{port}/")), "{printed}");
}

/// The resolver's and the bundle's unit tests (`js-runtime/src/resolve.rs`, `bundle.rs`):
/// the runtime is its own workspace, outside `cargo test --workspace`, so they run here,
/// natively and without the engine feature (no QuickJS to compile).
#[test]
fn the_resolver_and_bundle_unit_tests_pass() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("js-runtime-unit");
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["test", "--locked", "--no-default-features", "--manifest-path"])
        .arg(repo_root().join("js-runtime/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("run cargo test for js-runtime");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "js-runtime's unit tests failed\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let passed: usize = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 7, "every one of the resolver's and bundle's 7 tests ran: {stdout}");
}
