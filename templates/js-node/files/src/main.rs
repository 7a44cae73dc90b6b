// The app is src/main.js, run by the bundled JavaScript runtime (vendor/wasock-js-*).
fn main() { wasock_js::run_embedded("main.js", include_bytes!("main.js")) }
