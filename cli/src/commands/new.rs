//! `cargo wasock new`: scaffold a project from an embedded template.

use std::path::PathBuf;

use clap::Args;

use crate::printer::Printer;
use crate::scaffold::{self, NewProject, DEFAULT_PORT};

#[derive(Args, Debug)]
#[command(
    about = "Create a new app from a template",
    long_about = "Create a new WasmEdge socket app from a template.\n\n\
The project builds with plain `cargo build --target wasm32-wasip1`: it depends on the bundled \
`wasock` library, whose source is written into the project under vendor/wasock-<version>/. \
Nothing is written when the name, template, port or destination is refused, and an existing \
non-empty directory is never touched.",
    after_help = "Examples:\n  cargo wasock new hello --template poll\n  cargo wasock new api --template server --port 8080 --path services/api\n  cargo wasock new --list"
)]
pub struct NewArgs {
    /// Package name (letters, digits, `-`, `_`; starting with a letter)
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,

    /// Template to use: client, server or poll (alias poll-server)
    #[arg(short, long, default_value = "server")]
    pub template: String,

    /// Project directory to create [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// The app's default port, written into its code (`PORT` overrides it) [default: 8080]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// List the templates instead of creating a project
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: NewArgs, printer: &Printer) -> anyhow::Result<i32> {
    if args.list {
        super::templates::print_templates()?;
        return Ok(0);
    }
    let Some(name) = args.name else {
        anyhow::bail!("a package name is required");
    };
    scaffold::validate_package_name(&name)?;
    let template = scaffold::find_template(&args.template)?;
    let destination = args.path.unwrap_or_else(|| PathBuf::from(&name));
    let project = NewProject {
        name: name.clone(),
        template,
        port: args.port.unwrap_or(DEFAULT_PORT),
        destination,
    };
    scaffold::create(&project)?;

    printer.status(
        "Created",
        format!(
            "`{name}` from the `{}` template in {}",
            project.template.name,
            project.destination.display()
        ),
    );
    if printer.verbosity() != crate::printer::Verbosity::Quiet {
        let dir = project.destination.display();
        eprintln!(
            "\nNext:\n  cd {dir}\n  cargo wasock build --aot\n  cargo wasock run --port {}",
            project.port
        );
    }
    Ok(0)
}
