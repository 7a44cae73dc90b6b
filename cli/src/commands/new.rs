//! `cargo wasock new`: scaffold a project from an embedded template.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::Args;

use crate::project::scaffold::{self, NewProject, DEFAULT_PORT};
use crate::project::vcs::{self, Vcs};
use crate::ui::printer::Printer;

#[derive(Args, Debug)]
#[command(
    about = "Create a new app from a template",
    long_about = "Create a new WasmEdge socket app from a template.\n\n\
The project builds with plain `cargo build --target wasm32-wasip1`: it depends on the bundled \
`wasock` library, whose source is written into the project under vendor/wasock-<version>/. \
Nothing is written when the name, template, port or destination is refused, and an existing \
non-empty directory is never touched. A git repository is initialised in the project unless it \
is inside one already (as `cargo new` does); `--vcs none` skips it.",
    after_help = "Examples:\n  cargo wasock new hello --template poll\n  cargo wasock new api --template server --port 8080 --path services/api\n  cargo wasock new --list"
)]
pub struct NewArgs {
    /// Package name (letters, digits, `-`, `_`; starting with a letter)
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,

    /// Template to use
    #[arg(short, long, default_value = "server", value_parser = template_names())]
    pub template: String,

    /// Project directory to create [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// The app's default port, written into its code (`PORT` overrides it) [default: 8080]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,

    /// Version control for the new project
    #[arg(long, value_enum, default_value_t = Vcs::Git)]
    pub vcs: Vcs,

    /// List the templates instead of creating a project
    #[arg(long)]
    pub list: bool,
}

/// The embedded templates as clap's possible values, so an unknown one is a usage error
/// (exit code 2) with clap's suggestion of the closest name.
fn template_names() -> PossibleValuesParser {
    // The embedded templates are checked by the tests; a broken one surfaces in `run`.
    let templates = scaffold::templates().unwrap_or_default();
    PossibleValuesParser::new(templates.into_iter().map(|template| {
        PossibleValue::new(template.name)
            .help(template.description)
            .aliases(template.aliases)
    }))
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
    let repository = vcs::init(args.vcs, &project.destination, printer);

    let with_git = if repository == vcs::Outcome::Initialized {
        " (git repository initialised)"
    } else {
        ""
    };
    printer.status(
        "Created",
        format!(
            "`{name}` from the `{}` template in {}{with_git}",
            project.template.name,
            project.destination.display()
        ),
    );
    if printer.verbosity() != crate::ui::printer::Verbosity::Quiet {
        let dir = project.destination.display();
        // `run` builds, and the first start compiles to native code and caches it.
        eprintln!(
            "\nNext:\n  cd {dir}\n  cargo wasock run --port {}",
            project.port
        );
    }
    Ok(0)
}
