// Bundles src/main.js with what it can import: the .js/.mjs/.cjs/.json files under src/, and
// those of the npm packages in package.json's dependencies (run `npm install` first). Cargo
// reruns this when they change.
fn main() {
    wasock_js::bundle::build_script("src/main.js")
}
