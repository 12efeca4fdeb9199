// `sqlx::migrate!` embeds the migration files at compile time; without this, cargo would not
// notice an added or edited migration and would keep the old ones in the binary.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
