//! `cargo wasock templates`: the templates `new` can use, one per line.

use clap::Args;
use serde::Serialize;

use crate::project::scaffold;
use crate::ui::messages::MessageFormatArgs;
use crate::ui::printer::Printer;

#[derive(Args, Debug)]
#[command(
    about = "List the templates `new` can use",
    long_about = "List the templates `new` can use, one per line on stdout.\n\n\
With --message-format json, stdout carries one `template` message per template instead \
({\"reason\":\"template\",\"name\":…,\"description\":…,\"aliases\":[…]}) and the listing goes to stderr.",
    after_help = "Example:\n  cargo wasock templates\n  cargo wasock new hello --template poll"
)]
pub struct TemplatesArgs {
    #[command(flatten)]
    pub format: MessageFormatArgs,
}

/// `--message-format json`'s `template`.
#[derive(Serialize)]
struct TemplateMessage<'a> {
    name: &'a str,
    description: &'a str,
    aliases: &'a [String],
    /// A JavaScript app (its project also vendors the JS runtime).
    js: bool,
}

pub fn run(args: TemplatesArgs, printer: &Printer) -> anyhow::Result<i32> {
    let printer = printer.with_message_format(args.format);
    if printer.json_messages() {
        let templates = scaffold::templates()?;
        for template in &templates {
            printer.message(
                "template",
                &TemplateMessage {
                    name: &template.name,
                    description: &template.description,
                    aliases: &template.aliases,
                    js: template.js,
                },
            );
        }
        // The listing for people still shows, on stderr: stdout is the messages'.
        return print_templates_to(&mut std::io::stderr(), &templates).map(|()| 0);
    }
    print_templates()?;
    Ok(0)
}

/// The listing is the command's result, so it goes to stdout.
pub fn print_templates() -> anyhow::Result<()> {
    print_templates_to(&mut std::io::stdout(), &scaffold::templates()?)
}

fn print_templates_to(
    out: &mut impl std::io::Write,
    templates: &[scaffold::Template],
) -> anyhow::Result<()> {
    let width = templates.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for template in templates {
        let aliases = if template.aliases.is_empty() {
            String::new()
        } else {
            format!(" (alias: {})", template.aliases.join(", "))
        };
        // A closed pipe (`| head`) ends the listing early; that is not an error.
        if writeln!(
            out,
            "{:width$}  {}{aliases}",
            template.name, template.description
        )
        .is_err()
        {
            break;
        }
    }
    Ok(())
}
