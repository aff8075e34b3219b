//! `cargo xtask`: gradwork's developer tasks (dataset fetching and experiments; under construction).

fn main() {
    eprintln!("cargo xtask: no tasks yet");
    std::process::exit(2);
}
