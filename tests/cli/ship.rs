//! `package`, `deploy --k8s` and `push`: the image archive checked by skopeo, its
//! reproducibility, the manifests validated against Kubernetes' schemas by
//! `kubernetes-validate`, a push to a real registry (Debian's `docker-registry`) read back by
//! skopeo, and every refusal. (`.ci/run` installs skopeo, docker-registry and
//! kubernetes-validate.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

use crate::support::*;

const SERVER: &str = "fn main() { println!(\"listening\"); }\n";
const METADATA: &str =
    "[package.metadata.wasock]\nport = 8181\nenv = { GREETING = \"hi there\", RUST_LOG = \"info\" }\n";

fn package(sandbox: &Sandbox, project: &Path, extra: &[&str]) -> Output {
    let _lock = build_lock();
    sandbox
        .cmd()
        .current_dir(project)
        .arg("package")
        .args(extra)
        .arg("--target-dir")
        .arg(shared_target_dir())
        .output()
        .unwrap()
}

/// A tool the tests need, with what installs it when it is missing.
fn tool(name: &str, install: &str) -> Command {
    assert!(
        which(name).is_some(),
        "`{name}` is needed by this test: {install}"
    );
    Command::new(name)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

fn skopeo() -> Command {
    tool("skopeo", "apt-get install skopeo")
}

fn run_json(mut command: Command) -> Value {
    let output = command.output().expect("run the tool");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        stderr_of(&output)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn sha256_hex(bytes: &[u8]) -> String {
    // sha256sum is in coreutils: an independent check of our digests.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob");
    fs::write(&file, bytes).unwrap();
    let output = Command::new("sha256sum").arg(&file).output().unwrap();
    assert!(output.status.success());
    stdout_of(&output)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// The module an image holds, as skopeo copies it out: `skopeo copy ARGS… dir:DIR` (ARGS end
/// with the source reference), then the one layer (its digest checked), then the one file
/// `app.wasm` in it.
fn module_copied_by_skopeo(dir: &Path, args: &[&str]) -> Vec<u8> {
    let copy = skopeo()
        .arg("copy")
        .args(args)
        .arg(format!("dir:{}", dir.display()))
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", stderr_of(&copy));
    module_in_layer(&copied_layer(dir))
}

/// The layer of a one-layer image copied by `skopeo copy … dir:DIR`.
fn copied_layer(dir: &Path) -> Vec<u8> {
    let manifest: Value = serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap())
        .expect("manifest.json");
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{manifest}");
    let digest = layers[0]["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    let layer = fs::read(dir.join(hex)).expect("the layer blob");
    assert_eq!(sha256_hex(&layer), hex, "the layer's digest is its sha256");
    layer
}

/// The one file `app.wasm` in a layer tar, read by `tar` itself.
fn module_in_layer(layer: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let tar_file = dir.path().join("layer.tar");
    fs::write(&tar_file, layer).unwrap();
    let list = Command::new("tar")
        .arg("-tf")
        .arg(&tar_file)
        .output()
        .unwrap();
    assert_eq!(stdout_of(&list), "app.wasm\n");
    let output = Command::new("tar")
        .args(["-xOf"])
        .arg(&tar_file)
        .arg("app.wasm")
        .output()
        .unwrap();
    assert!(output.status.success());
    output.stdout
}

fn digest_line(output: &Output) -> String {
    let stdout = stdout_of(output);
    let digest = stdout.trim().to_owned();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "stdout is not one digest: {stdout:?}"
    );
    digest
}

#[test]
fn package_writes_a_reproducible_archive_that_skopeo_reads() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-pkg", SERVER, METADATA);

    let first = package(
        &sandbox,
        &project,
        &["--release", "--tag", "team/ship-pkg:1.2"],
    );
    let stderr = stderr_of(&first);
    assert!(first.status.success(), "{stderr}");
    let digest = digest_line(&first);
    let module = printed_path(&stderr, "Built");
    let archive = printed_path(&stderr, "Packaged");
    assert_eq!(archive, module.with_file_name("ship-pkg.oci.tar"));

    // A second run, to a file of our choosing: the same bytes, so the same digest.
    let again = sandbox.work().join("again.tar");
    let second = package(
        &sandbox,
        &project,
        &[
            "--release",
            "--tag",
            "team/ship-pkg:1.2",
            "--output",
            again.to_str().unwrap(),
        ],
    );
    assert!(second.status.success(), "{}", stderr_of(&second));
    assert_eq!(digest_line(&second), digest);
    assert!(
        fs::read(&archive).unwrap() == fs::read(&again).unwrap(),
        "archives differ"
    );

    let reference = format!("oci-archive:{}", archive.display());
    let mut inspect = skopeo();
    inspect.args(["inspect", &reference]);
    let info = run_json(inspect);
    assert_eq!(info["Architecture"], "wasm", "{info}");
    assert_eq!(info["Os"], "wasi", "{info}");
    assert_eq!(info["Digest"], digest.as_str(), "{info}");
    assert_eq!(info["Layers"].as_array().map(Vec::len), Some(1), "{info}");

    let mut raw = skopeo();
    raw.args(["inspect", "--raw", &reference]);
    let manifest = run_json(raw);
    assert_eq!(
        manifest["annotations"]["module.wasm.image/variant"], "compat-smart",
        "{manifest}"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );

    let mut config = skopeo();
    config.args(["inspect", "--config", &reference]);
    let config = run_json(config);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/app.wasm"]),
        "{config}"
    );
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["GREETING=hi there", "RUST_LOG=info", "PORT=8181"]),
        "{config}"
    );
    assert!(
        config["config"]["ExposedPorts"]["8181/tcp"].is_object(),
        "{config}"
    );

    // skopeo copies it out; the layer holds the module byte for byte.
    let copied = module_copied_by_skopeo(&sandbox.root.path().join("copied"), &[&reference]);
    assert!(copied == fs::read(&module).unwrap(), "module differs");
}

#[test]
fn package_ships_a_release_build_unless_asked_for_debug() {
    // Issue 24: an image is built to ship, so with no profile flag it is a release build
    // (a 9.3 MiB debug module was pushed before), and the profile is said.
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-profile", SERVER, "");
    let release = package(&sandbox, &project, &["--output", "release.tar"]);
    let stderr = stderr_of(&release);
    assert!(release.status.success(), "{stderr}");
    assert!(
        stderr.contains("Profile release (the default for images"),
        "{stderr}"
    );
    let module = printed_path(&stderr, "Built");
    assert!(
        module.to_string_lossy().contains("/release/"),
        "not a release build: {}",
        module.display()
    );

    let debug = package(&sandbox, &project, &["--debug", "--output", "debug.tar"]);
    let stderr = stderr_of(&debug);
    assert!(debug.status.success(), "{stderr}");
    assert!(stderr.contains("Profile dev (a debug build"), "{stderr}");
    let module = printed_path(&stderr, "Built");
    assert!(
        module.to_string_lossy().contains("/debug/"),
        "not a dev build: {}",
        module.display()
    );

    for conflicting in [["--debug", "--release"], ["--debug", "--profile=bench"]] {
        let output = sandbox
            .cmd()
            .current_dir(&project)
            .arg("package")
            .args(conflicting)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
        assert!(
            stderr_of(&output).contains("cannot be used with"),
            "{}",
            stderr_of(&output)
        );
    }
}

#[test]
fn package_refuses_a_bad_tag_or_an_existing_output_writing_nothing() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-refuse", SERVER, "");
    for tag in ["Ship:1", "ship:bad tag", "ship@sha256:abc", "ship:"] {
        let output = assert_refused_writing_nothing(
            &sandbox,
            &project,
            &["package", "--tag", tag],
            &["error: --tag", "help: use NAME[:TAG]"],
        );
        let stderr = stderr_of(&output);
        assert_eq!(
            stderr.lines().count(),
            2,
            "one error line and its help:\n{stderr}"
        );
    }
    let existing = project.join("keep.tar");
    fs::write(&existing, "mine").unwrap();
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["package", "--output", "keep.tar"],
        &["`keep.tar` already exists", "--force"],
    );
    assert_eq!(fs::read_to_string(&existing).unwrap(), "mine");
}

#[test]
fn package_aot_needs_wasmedge_and_labels_its_output() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-aot", SERVER, "");
    // Without WasmEdge: refused before building (the embedded engine's code is not portable).
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["package", "--aot"],
        &["WasmEdge was not found", "drop `--aot`"],
    );

    let _fake = sandbox.fake_wasmedge("0.17.1");
    let output = package(&sandbox, &project, &["--aot"]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    let archive = printed_path(&stderr, "Packaged");
    let aot = printed_path(&stderr, "AOT");
    let reference = format!("oci-archive:{}", archive.display());
    let mut config = skopeo();
    config.args(["inspect", "--config", &reference]);
    let config = run_json(config);
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.wasmedge.aot.version"], "0.17.1", "{config}");
    assert_eq!(
        labels["org.wasmedge.aot.architecture"],
        std::env::consts::ARCH,
        "{config}"
    );

    let module = module_copied_by_skopeo(&sandbox.root.path().join("copied"), &[&reference]);
    assert!(
        module.ends_with(b"aot-by-0.17.1"),
        "the image holds the plain module"
    );
    assert!(module == fs::read(&aot).unwrap());
}

/// YAML → JSON with PyYAML (a dependency of kubernetes-validate).
fn yaml_file(path: &Path) -> Value {
    let output = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn deploy_writes_manifests_that_pass_kubernetes_schemas() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "Ship_Deploy", SERVER, METADATA);
    let image = "registry.example.com/team/ship:0.1.0";
    let output = sandbox
        .cmd()
        .current_dir(&project)
        .args([
            "deploy",
            "--k8s",
            "--replicas",
            "3",
            "--runtime-class",
            "crun",
        ])
        .args(["--image", image, "--output", "manifests"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let dir = project.join("manifests");
    let files: Vec<PathBuf> = ["runtimeclass.yaml", "deployment.yaml", "service.yaml"]
        .iter()
        .map(|name| dir.join(name))
        .collect();

    assert_valid_kubernetes(&files);

    let class = yaml_file(&files[0]);
    assert_eq!(class["kind"], "RuntimeClass");
    assert_eq!(class["metadata"]["name"], "crun");
    assert_eq!(class["handler"], "crun");
    let deployment = yaml_file(&files[1]);
    assert_eq!(deployment["metadata"]["name"], "ship-deploy");
    assert_eq!(deployment["spec"]["replicas"], 3);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["runtimeClassName"], "crun");
    let container = &pod["containers"][0];
    assert_eq!(container["image"], image);
    assert_eq!(container["ports"][0]["containerPort"], 8181);
    assert_eq!(container["readinessProbe"]["tcpSocket"]["port"], "http");
    assert_eq!(container["ports"][0]["name"], "http");
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert_eq!(
        container["env"],
        serde_json::json!([
            {"name": "GREETING", "value": "hi there"},
            {"name": "RUST_LOG", "value": "info"},
            {"name": "PORT", "value": "8181"},
        ])
    );
    let service = yaml_file(&files[2]);
    assert_eq!(service["spec"]["ports"][0]["port"], 8181);
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );

    // A second run refuses to replace them; --force does.
    fs::write(&files[1], "# edited by hand\n").unwrap();
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["deploy", "--k8s", "--output", "manifests"],
        &["already exist", "--force"],
    );
    assert_eq!(fs::read_to_string(&files[1]).unwrap(), "# edited by hand\n");
    let forced = sandbox
        .cmd()
        .current_dir(&project)
        .args(["deploy", "--k8s", "--output", "manifests", "--force"])
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", stderr_of(&forced));
    let deployment = yaml_file(&files[1]);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["image"], "ship-deploy:0.1.0",
        "the default image name"
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["runtimeClassName"],
        "wasmedge"
    );
}

#[test]
fn deploy_refuses_without_a_port_or_with_a_bad_image() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-noport", SERVER, "");
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["deploy", "--k8s"],
        &["the app's port is not known", "--port N"],
    );
    assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["deploy", "--k8s", "--port", "80", "--image", "Bad/Image"],
        &["--image `Bad/Image` is not a valid image name"],
    );
}

/// Debian's `docker-registry` (the CNCF Distribution registry) on 127.0.0.1:PORT, storing
/// into a temp dir, with no auth or with basic auth from an htpasswd file; stopped when dropped.
struct Registry {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Self {
        Self::start_with_htpasswd(None)
    }

    /// `htpasswd`: the lines of an htpasswd file (bcrypt hashes, as the registry requires).
    fn start_with_htpasswd(htpasswd: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("config.yml");
        let mut text = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some(lines) = htpasswd {
            let file = dir.path().join("htpasswd");
            fs::write(&file, lines).unwrap();
            text.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: wasock-tests\n    path: {}\n",
                file.display()
            ));
        }
        fs::write(&config, text).unwrap();
        let child = tool("docker-registry", "apt-get install docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut registry = Registry {
            child,
            port,
            _dir: dir,
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                registry.child.try_wait().unwrap().is_none(),
                "the registry exited"
            );
            assert!(
                started.elapsed().as_secs() < 20,
                "the registry did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn push(sandbox: &Sandbox, project: &Path, extra: &[&str]) -> Output {
    let _lock = build_lock();
    sandbox
        .cmd()
        .current_dir(project)
        // Docker's config is the sandbox's own (`~/.docker/config.json` below its HOME).
        .env("DOCKER_CONFIG", sandbox.home().join(".docker"))
        .arg("push")
        .args(extra)
        .arg("--target-dir")
        .arg(shared_target_dir())
        .output()
        .unwrap()
}

#[test]
fn push_to_a_real_registry_then_skopeo_reads_it_back() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-push", SERVER, METADATA);
    let registry = Registry::start();
    let reference = format!("127.0.0.1:{}/team/ship-push:0.3", registry.port);

    let pushed = push(&sandbox, &project, &["--insecure", &reference]);
    let stderr = stderr_of(&pushed);
    assert!(pushed.status.success(), "{stderr}");
    let digest = digest_line(&pushed);
    let module = printed_path(&stderr, "Built");

    // The pushed image is the packaged one: the same digest.
    let packaged = package(&sandbox, &project, &["--tag", &reference]);
    assert!(packaged.status.success(), "{}", stderr_of(&packaged));
    assert_eq!(digest_line(&packaged), digest);

    let remote = format!("docker://{reference}");
    let mut inspect = skopeo();
    inspect.args(["inspect", "--tls-verify=false", &remote]);
    let info = run_json(inspect);
    assert_eq!(info["Architecture"], "wasm", "{info}");
    assert_eq!(info["Os"], "wasi", "{info}");
    assert_eq!(info["Digest"], digest.as_str(), "{info}");
    let mut raw = skopeo();
    raw.args(["inspect", "--raw", "--tls-verify=false", &remote]);
    let manifest = run_json(raw);
    assert_eq!(
        manifest["annotations"]["module.wasm.image/variant"], "compat-smart",
        "{manifest}"
    );

    let pulled = module_copied_by_skopeo(
        &sandbox.root.path().join("pulled"),
        &["--src-tls-verify=false", &remote],
    );
    assert!(pulled == fs::read(&module).unwrap(), "module differs");

    // Pushing again finds the blobs there and succeeds.
    let again = push(&sandbox, &project, &["--insecure", &reference]);
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert_eq!(digest_line(&again), digest);
}

#[test]
fn push_errors_are_one_line_with_what_to_do() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-push-err", SERVER, "");
    // A bad reference is refused before building.
    let output = assert_refused_writing_nothing(
        &sandbox,
        &project,
        &["push", "Bad:Ref"],
        &[
            "error: the reference `Bad:Ref` is not a valid image name",
            "help: use NAME[:TAG]",
        ],
    );
    assert_eq!(
        stderr_of(&output).lines().count(),
        2,
        "{}",
        stderr_of(&output)
    );

    // Nothing listens on the port: unreachable, with the next step.
    let down = format!("127.0.0.1:{}/ship:1", free_port());
    let output = push(&sandbox, &project, &["--insecure", &down]);
    let stderr = stderr_of(&output);
    assert!(!output.status.success());
    let error: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error:") || line.starts_with("help:"))
        .collect();
    assert_eq!(error.len(), 2, "{stderr}");
    assert!(
        error[0].contains("could not reach the registry http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        error[1].contains("check that a registry runs at"),
        "{stderr}"
    );

    // Without --insecure, an HTTPS push to a plain-HTTP registry suggests it.
    let registry = Registry::start();
    let plain = format!("127.0.0.1:{}/ship:1", registry.port);
    let output = push(&sandbox, &project, &[&plain]);
    let stderr = stderr_of(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("error: could not reach the registry https://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help:") && stderr.contains("pass `--insecure`"),
        "{stderr}"
    );
}

/// The htpasswd line of user `wasock` with password `right-password` (bcrypt, cost 5:
/// the registry accepts only bcrypt, and a constant hash needs no hashing tool at test time).
const HTPASSWD: &str = "wasock:$2b$05$jI.oiwkWx4n1rRB2giMs0ef3RnpwWLBHyBa7KY0j.Dww8JKVGdl3G\n";

/// Docker's `config.json` in the sandbox, holding `user:password` for `registry`.
fn docker_login(sandbox: &Sandbox, registry: &str, user_password: &str) {
    let dir = sandbox.home().join(".docker");
    fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(user_password);
    fs::write(
        dir.join("config.json"),
        format!("{{\"auths\": {{\"{registry}\": {{\"auth\": \"{auth}\"}}}}}}"),
    )
    .unwrap();
}

#[test]
fn push_logs_in_with_dockers_credentials_and_a_refused_login_is_one_clear_error() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-auth", SERVER, METADATA);
    let registry = Registry::start_with_htpasswd(Some(HTPASSWD));
    let server = format!("127.0.0.1:{}", registry.port);
    let reference = format!("{server}/team/ship-auth:1");

    // Wrong password in Docker's config: refused, one error line and its help, nothing pushed.
    docker_login(&sandbox, &server, "wasock:wrong-password");
    let refused = push(&sandbox, &project, &["--insecure", &reference]);
    let stderr = stderr_of(&refused);
    assert!(!refused.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error:") || line.starts_with("help:"))
        .collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("error: the registry {server} refused the login")),
        "{stderr}"
    );
    assert!(lines[1].contains("docker login"), "{stderr}");
    let mut inspect = skopeo();
    inspect.args([
        "inspect",
        "--tls-verify=false",
        "--creds",
        "wasock:right-password",
    ]);
    let absent = inspect
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(!absent.status.success(), "the refused push left an image");

    // The right password in Docker's config: pushed, and skopeo (logged in) reads it back.
    docker_login(&sandbox, &server, "wasock:right-password");
    let pushed = push(&sandbox, &project, &["--insecure", &reference]);
    assert!(pushed.status.success(), "{}", stderr_of(&pushed));
    let digest = digest_line(&pushed);
    let mut inspect = skopeo();
    inspect.args([
        "inspect",
        "--tls-verify=false",
        "--creds",
        "wasock:right-password",
    ]);
    inspect.arg(format!("docker://{reference}"));
    let info = run_json(inspect);
    assert_eq!(info["Digest"], digest.as_str(), "{info}");
}

const POLICY_METADATA: &str = "[package.metadata.wasock]\nport = 8181\nmemory-limit = \"64MiB\"\nallow-connect = [\"db.internal:5432\", \"10.0.0.0/8:5432\", \"192.168.1.7\", \"[fd00::/8]:*\"]\nallow-listen = [\"0.0.0.0:8181\"]\n";

/// The sandbox shipped (issue 21): `deploy --k8s` turns the memory limit into the
/// container's limit and `allow-connect`'s addresses into a NetworkPolicy (DNS beside
/// them), notes the host name it cannot express, and every file passes
/// `kubernetes-validate --strict`; `package` records the policy in the manifest's
/// annotations.
#[cfg(feature = "embedded")]
#[test]
fn the_sandbox_ships_as_far_as_kubernetes_and_the_image_can_say_it() {
    let sandbox = Sandbox::new();
    let project = minimal_project(&sandbox.work(), "ship-policy", SERVER, POLICY_METADATA);
    let output = sandbox
        .cmd()
        .current_dir(&project)
        .args(["deploy", "--k8s", "--output", "manifests"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("note: allow-connect entry `db.internal:5432` is a host name, which a NetworkPolicy cannot express"),
        "{stderr}"
    );
    let dir = project.join("manifests");
    let files: Vec<PathBuf> = [
        "runtimeclass.yaml",
        "networkpolicy.yaml",
        "deployment.yaml",
        "service.yaml",
    ]
    .iter()
    .map(|name| dir.join(name))
    .collect();
    assert_valid_kubernetes(&files);
    let text = fs::read_to_string(&files[1]).unwrap();
    assert!(
        text.starts_with("# note: allow-connect entry `db.internal:5432`"),
        "{text}"
    );
    let policy = yaml_file(&files[1]);
    assert_eq!(policy["kind"], "NetworkPolicy");
    assert_eq!(policy["spec"]["policyTypes"], serde_json::json!(["Egress"]));
    let deployment = yaml_file(&files[2]);
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
    let both = |port: u16| serde_json::json!([{"protocol": "TCP", "port": port}, {"protocol": "UDP", "port": port}]);
    assert_eq!(
        policy["spec"]["egress"],
        serde_json::json!([
            {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": both(5432)},
            {"to": [{"ipBlock": {"cidr": "192.168.1.7/32"}}]},
            {"to": [{"ipBlock": {"cidr": "fd00::/8"}}]},
        ])
    );
    let resources = &deployment["spec"]["template"]["spec"]["containers"][0]["resources"];
    assert_eq!(
        resources["limits"]["memory"], "128Mi",
        "64 MiB and the runtime's 64 MiB"
    );

    let packaged = package(&sandbox, &project, &["--release"]);
    let stderr = stderr_of(&packaged);
    assert!(packaged.status.success(), "{stderr}");
    let archive = printed_path(&stderr, "Packaged");
    let mut raw = skopeo();
    raw.args([
        "inspect",
        "--raw",
        &format!("oci-archive:{}", archive.display()),
    ]);
    let manifest = run_json(raw);
    let annotations = &manifest["annotations"];
    assert_eq!(
        annotations["dev.cargo-wasock.allow-connect"],
        r#"["db.internal:5432","10.0.0.0/8:5432","192.168.1.7","[fd00::/8]:*"]"#,
        "{manifest}"
    );
    assert_eq!(
        annotations["dev.cargo-wasock.allow-listen"],
        r#"["0.0.0.0:8181"]"#
    );
    assert_eq!(annotations["dev.cargo-wasock.memory-limit"], "67108864");
    assert_eq!(annotations["module.wasm.image/variant"], "compat-smart");
}

/// Checks `files` with `kubernetes-validate --strict` (Kubernetes' own schemas); fails the
/// test with its output when any is refused.
fn assert_valid_kubernetes(files: &[PathBuf]) {
    let validate = tool(
        "kubernetes-validate",
        "python3 -m pip install kubernetes-validate",
    )
    .arg("--strict")
    .args(files)
    .output()
    .unwrap();
    assert!(
        validate.status.success(),
        "{}{}",
        stdout_of(&validate),
        stderr_of(&validate)
    );
}
