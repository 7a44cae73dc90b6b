//! placeholder
#[derive(Default)]
pub(crate) struct Pool {}
pub async fn fetch() {}
pub async fn get() {}
pub async fn post() {}
