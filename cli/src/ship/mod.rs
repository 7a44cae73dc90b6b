//! The ship stage: the app as an OCI image (`package`), pushed to a registry (`push`), and
//! Kubernetes manifests (`deploy --k8s`). May use `run/` (the app's environment), `build/`,
//! `project/` and the shared modules.

pub mod image;
pub mod k8s;
pub mod oci;
pub mod registry;
