//! `cargo wasock templates`: the templates `new` can use, one per line.

use clap::Args;

use crate::printer::Printer;
use crate::scaffold;

#[derive(Args, Debug)]
#[command(
    about = "List the templates `new` can use",
    after_help = "Example:\n  cargo wasock templates\n  cargo wasock new hello --template poll"
)]
pub struct TemplatesArgs {}

pub fn run(_args: TemplatesArgs, _printer: &Printer) -> anyhow::Result<i32> {
    print_templates()?;
    Ok(0)
}

/// The listing is the command's result, so it goes to stdout.
pub fn print_templates() -> anyhow::Result<()> {
    let templates = scaffold::templates()?;
    let width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for template in templates {
        let aliases = if template.aliases.is_empty() {
            String::new()
        } else {
            format!(" (alias: {})", template.aliases.join(", "))
        };
        println!(
            "{:width$}  {}{aliases}",
            template.name, template.description
        );
    }
    Ok(())
}
