// The app is src/main.js with everything it imports, bundled by build.rs and run by the
// bundled JavaScript runtime (vendor/wasock-js-*) from memory: no files are read at run time.
fn main() {
    wasock_js::run_bundle(include_bytes!(concat!(env!("OUT_DIR"), "/app.bundle")))
}
