// `refinery::embed_migrations!` reads ../migrations at compile time, but cargo only notices
// changes to files a build reads: without this, a new migration file is silently left out
// until something else in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
