//! hyper 1.x runtime traits for wasock (feature `hyper`).
