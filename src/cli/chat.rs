//! `leakproof chat`: a person talks to the reference agent in the terminal, with the mocks in the process.

use std::io::Write;

use super::{ChatArgs, Status, parse_channel, report_unusable};

pub(super) fn chat(
    args: &ChatArgs,
    input: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    use crate::agent::{Agent, AgentSettings, Visitor};
    use crate::clock::{Clock, ManualClock};
    use crate::mocks::{MockOptions, Mocks};

    let config = match crate::config::load_file(&args.config) {
        Ok(config) => config,
        Err(error) => return report_unusable(&error, err),
    };
    let fixtures = match crate::world::load_file(&args.fixtures) {
        Ok(fixtures) => fixtures,
        Err(error) => return report_unusable(&error, err),
    };
    let clock = ManualClock::new(jiff::Timestamp::now());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let options = MockOptions { clock: std::sync::Arc::new(clock.clone()), ..MockOptions::default() };
        let mocks = Mocks::start_with(fixtures.clone(), options).await?;
        let key = match crate::identity::token::SigningKey::random() {
            Ok(key) => key,
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(Status::UnusableInput);
            }
        };
        let settings = AgentSettings {
            crm: crate::crm::CrmSettings::new(mocks.crm.base_url(), mocks.crm.token()),
            mail: crate::mail::MailSettings::new(mocks.mail.base_url(), mocks.mail.token(), 1),
            signing_key: key,
            config,
        };
        let agent = match Agent::new(settings) {
            Ok(agent) => agent,
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(Status::UnusableInput);
            }
        };
        let visitor =
            Visitor { cookie: args.cookie.clone(), phone: args.phone.clone(), ..Visitor::default() };
        let mut channel = args.channel;
        let mut conversation = 1usize;
        writeln!(
            out,
            "leakproof chat: {} on {channel}, with mock CRM ({} contacts) and mail. /help lists commands.",
            agent_name(&agent),
            fixtures.contacts.len()
        )?;
        let mut line = String::new();
        loop {
            write!(out, "you> ")?;
            out.flush()?;
            line.clear();
            if input.read_line(&mut line)? == 0 {
                writeln!(out)?;
                break;
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let (command, argument) = text.split_once(' ').unwrap_or((text, ""));
            match command {
                "/quit" | "/exit" => break,
                "/help" => writeln!(out, "/mail  /open N  /channel CH  /wait 20m  /quit")?,
                "/mail" => {
                    let mails = mocks.mail.all();
                    if mails.is_empty() {
                        writeln!(out, "(no mail sent)")?;
                    }
                    for mail in mails {
                        let link = mail.link.as_ref().map(url::Url::as_str).unwrap_or("(no link)");
                        writeln!(out, "[{}] to {}: {link}", mail.index, mail.to)?;
                    }
                }
                "/open" => {
                    let mail = argument
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| mocks.mail.all().into_iter().nth(n));
                    match mail.and_then(|mail| mail.link) {
                        Some(link) => {
                            let token = link.path().rsplit('/').next().unwrap_or_default().to_owned();
                            let outcome = agent.open_link(&token, clock.now()).await;
                            writeln!(out, "(link) {}", outcome.message)?;
                        }
                        None => writeln!(out, "(no such mail with a link; /mail lists them)")?,
                    }
                }
                "/channel" => match parse_channel(argument.trim()) {
                    Ok(next) => {
                        channel = next;
                        conversation += 1;
                        writeln!(out, "(a new conversation on {channel})")?;
                    }
                    Err(message) => writeln!(out, "({message})")?,
                },
                "/wait" => match argument.trim().parse::<jiff::SignedDuration>() {
                    Ok(duration) if duration > jiff::SignedDuration::ZERO => {
                        let now = clock.advance(duration);
                        writeln!(out, "(it is now {now})")?;
                    }
                    _ => writeln!(out, "(write it like /wait 20m)")?,
                },
                _ if command.starts_with('/') => {
                    writeln!(out, "(unknown command {command}; /help lists them)")?
                }
                _ => {
                    let id = crate::identity::ConversationId(format!("chat-{conversation}"));
                    let turn = agent.handle(&id, channel, &visitor, text, clock.now()).await;
                    for reply in &turn.replies {
                        writeln!(out, "{}> {}", agent_name(&agent), reply.replace('\n', "\n    "))?;
                    }
                    for event in &turn.events {
                        let json = serde_json::to_string(event).unwrap_or_default();
                        writeln!(out, "    · {json}")?;
                    }
                }
            }
        }
        Ok(Status::Ok)
    })
}

fn agent_name(agent: &crate::agent::Agent) -> String {
    let name = agent.name();
    name.split_whitespace().next().unwrap_or(name).to_owned()
}
