//! Rebuilds the crate when a migration is added or edited: the migrations
//! are embedded at compile time (`sqlx::migrate!`), and a new file alone
//! changes no Rust source.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
