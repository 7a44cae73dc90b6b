//! ES modules, CommonJS and npm packages in the JS runtime (issue 23): module detection
//! (top-level `await`, `import.meta`), Node's resolution (relative files, JSON, `#imports`,
//! `node_modules` packages through `exports` conditions and patterns, `module`, `main`),
//! CommonJS through `require` and as the default export of an import, and the error of an
//! import that does not resolve. Scripts run with `run --js` on the engine and directly on
//! the real WasmEdge (interpreted and AOT) where it is installed, outputs compared.
//!
//! The fixture `tests/js/modules/` is a small app with hand-written packages in its
//! `node_modules` (an ES package with `node`/`worker` builds, a CommonJS package, a
//! `module.exports = function` package, a scoped package with `module` and `main`).

use std::path::Path;

use crate::js::{assert_same, js_fixture, runtimes, script_command, Outcome};
use crate::support::{build_lock, Sandbox};

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

#[test]
fn module_syntax_is_detected_and_imports_resolve_as_node_resolves_them() {
    let test = "module_syntax_is_detected_and_imports_resolve_as_node_resolves_them";
    let mut outcomes = Vec::new();
    for runtime in runtimes(test) {
        let sandbox = Sandbox::new();
        let app = sandbox.work().join("app");
        copy_tree(&js_fixture("modules"), &app);
        let _build = build_lock();
        let mut outcome = Outcome::default();
        for (script, expected) in EXPECTED {
            let output = script_command(runtime, &sandbox, &app, script, &[])
                .output()
                .expect("run the script");
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "{runtime:?} {script}: {}\n{stdout}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(stdout, *expected, "{runtime:?} {script}");
            outcome.stdout.push_str(&stdout);
        }
        outcome.exit = Some(0);
        outcomes.push((runtime, outcome));
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
