//! One agent turn of each kind against the wiremock mocks, and in the same run
//! the floor: the bare HTTP calls that turn makes, sent with the same client
//! to the same mocks. The difference is what the agent itself costs.
//!
//! Every sample gets fresh mocks and a fresh agent, prepared untimed, so the
//! mocks' request logs and the agent's conversation table stay as small as in
//! a real conversation instead of growing with the run. Before timing, each
//! case checks that its floor sends exactly the requests the turn sends.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use leakproof::agent::{Agent, AgentSettings, Turn, Visitor};
use leakproof::config::{Channel, ObjectType};
use leakproof::crm::{Crm, CrmSettings};
use leakproof::identity::{ConversationId, SigningKey};
use leakproof::mail::MailSettings;
use leakproof::mocks::Mocks;
use tokio::runtime::Runtime;

const MAREN: &str = "maren.solberg@example.com";

/// Fresh mocks, an agent on them, and a bare client for the floor.
struct World {
    mocks: Mocks,
    agent: Agent,
    crm: Crm,
    /// The time the agent is told; each iteration is an hour after the one before, so one
    /// address's verification mails never meet the agent's hourly limit.
    now: Mutex<Timestamp>,
}

async fn world() -> World {
    let fixtures = leakproof::world::load_file("scenarios/fixtures/default.yaml").expect("fixtures");
    let config = leakproof::config::load_file("scenarios/configs/default.yaml").expect("config");
    let mocks = Mocks::start(fixtures).await.expect("mocks");
    let crm_settings = CrmSettings::new(mocks.crm.base_url(), mocks.crm.token());
    let agent = Agent::new(AgentSettings {
        config,
        crm: crm_settings.clone(),
        mail: MailSettings::new(mocks.mail.base_url(), mocks.mail.token(), 1),
        signing_key: SigningKey::from_bytes(&[7; 32]).expect("key"),
    })
    .expect("agent");
    let crm = Crm::new(crm_settings).expect("crm");
    let world = World { mocks, agent, crm, now: Mutex::new("2026-05-01T09:00:00Z".parse().expect("time")) };
    // Open the connections both clients will reuse, untimed.
    world.say("warm-up", MAREN).await;
    world.say("warm-up", "what is my billing address?").await;
    world.crm.get(ObjectType::Contact, 101, &["city"], &[]).await.expect("warm-up get");
    world
}

impl World {
    async fn say(&self, conversation: &str, text: &str) -> Turn {
        self.agent
            .handle(
                &ConversationId::from(conversation),
                Channel::LiveChat,
                &Visitor::default(),
                text,
                self.now(),
            )
            .await
    }

    fn now(&self) -> Timestamp {
        *self.now.lock().expect("clock")
    }

    /// Moves the clock on by an hour and a second: untimed, before each iteration.
    fn next_hour(&self) {
        let mut now = self.now.lock().expect("clock");
        *now = now.checked_add(SignedDuration::from_secs(3601)).expect("time");
    }

    /// The token of the latest link mailed to Maren.
    fn latest_token(&self) -> String {
        let link = self.mocks.mail.latest_link(MAREN).expect("a link");
        link.path().rsplit('/').next().unwrap_or_default().to_owned()
    }

    /// Method and path of every request the mocks received since `from`.
    fn requests_since(&self, from: usize) -> Vec<String> {
        let mut all = self.mocks.crm.requests();
        all.extend(self.mocks.mail.requests());
        all.iter().skip(from).map(|r| format!("{} {}", r.method, r.path)).collect()
    }

    fn request_count(&self) -> usize {
        self.mocks.crm.requests().len() + self.mocks.mail.requests().len()
    }
}

/// Drops a world off the runtime's workers: wiremock's servers check their
/// expectations on drop by blocking on a lock their own tasks use, which can
/// stall a worker thread for a long time.
async fn retire(world: World) {
    let _ = tokio::task::spawn_blocking(move || drop(world)).await;
}

/// One kind of turn: how to bring a conversation to it, the turn itself, and
/// the bare HTTP calls it makes.
trait Case: Sync {
    const NAME: &'static str;
    /// Untimed: brings conversation `id` to the state just before the turn.
    async fn prepare(&self, world: &World, id: &str) -> Option<String>;
    /// Timed: the turn; checks its answer.
    async fn turn(&self, world: &World, id: &str, token: Option<String>);
    /// Timed: the floor.
    async fn floor(&self, world: &World);
    /// Whether the turn makes HTTP calls at all.
    const HTTP: bool = true;
}

struct SmallTalk;
impl Case for SmallTalk {
    const NAME: &'static str = "small_talk";
    async fn prepare(&self, _: &World, _: &str) -> Option<String> {
        None
    }
    async fn turn(&self, world: &World, id: &str, _: Option<String>) {
        let turn = world.say(id, "hello there").await;
        assert!(!turn.replies.is_empty());
    }
    async fn floor(&self, _: &World) {}
    // No HTTP calls: its floor is zero.
    const HTTP: bool = false;
}

struct MatchThenDisclose;
impl Case for MatchThenDisclose {
    const NAME: &'static str = "match_then_disclose";
    async fn prepare(&self, world: &World, id: &str) -> Option<String> {
        world.say(id, "what is my city?").await;
        None
    }
    async fn turn(&self, world: &World, id: &str, _: Option<String>) {
        let turn = world.say(id, MAREN).await;
        assert!(turn.replies.join(" ").contains("Kirkby Lonsdale"), "{turn:?}");
    }
    async fn floor(&self, world: &World) {
        let contact =
            world.crm.search_contact_by_email(MAREN, &["email", "firstname"]).await.expect("search");
        std::hint::black_box(contact);
        let city = world.crm.get(ObjectType::Contact, 101, &["city"], &[]).await.expect("get");
        std::hint::black_box(city);
    }
}

struct OpenLink;
impl Case for OpenLink {
    const NAME: &'static str = "open_link";
    async fn prepare(&self, world: &World, id: &str) -> Option<String> {
        world.say(id, "what is my billing address?").await;
        world.say(id, MAREN).await;
        Some(world.latest_token())
    }
    async fn turn(&self, world: &World, _: &str, token: Option<String>) {
        let token = token.unwrap_or_default();
        assert!(world.agent.open_link(&token, world.now()).await.verified);
    }
    async fn floor(&self, _: &World) {}
    // Checking a link is the agent's own work: no HTTP call.
    const HTTP: bool = false;
}

struct DiscloseAfterLink;
impl Case for DiscloseAfterLink {
    const NAME: &'static str = "disclose_after_link";
    async fn prepare(&self, world: &World, id: &str) -> Option<String> {
        world.say(id, "what is my billing address?").await;
        world.say(id, MAREN).await;
        let token = world.latest_token();
        assert!(world.agent.open_link(&token, world.now()).await.verified);
        None
    }
    async fn turn(&self, world: &World, id: &str, _: Option<String>) {
        let turn = world.say(id, "done").await;
        assert!(turn.replies.join(" ").contains("Kestrel Row"), "{turn:?}");
    }
    async fn floor(&self, world: &World) {
        let address = world.crm.get(ObjectType::Contact, 101, &["address"], &[]).await.expect("get");
        std::hint::black_box(address);
    }
}

struct ConfirmedUpdate;
impl Case for ConfirmedUpdate {
    const NAME: &'static str = "confirmed_update";
    async fn prepare(&self, world: &World, id: &str) -> Option<String> {
        world.say(id, MAREN).await;
        world.say(id, "change my preferred language to English").await;
        None
    }
    async fn turn(&self, world: &World, id: &str, _: Option<String>) {
        let turn = world.say(id, "yes").await;
        assert!(turn.replies.join(" ").contains("English"), "{turn:?}");
    }
    async fn floor(&self, world: &World) {
        let change = BTreeMap::from([("hs_language".to_owned(), "English".to_owned())]);
        world.crm.update(ObjectType::Contact, 101, &change).await.expect("update");
    }
}

/// Checks, once, that the floor sends the same requests as the turn.
fn check_floor<C: Case>(runtime: &Runtime, case: &C) {
    runtime.block_on(async {
        let world = world().await;
        let token = case.prepare(&world, "probe").await;
        let before = world.request_count();
        case.turn(&world, "probe", token).await;
        let turn = world.requests_since(before);
        let before = world.request_count();
        case.floor(&world).await;
        let floor = world.requests_since(before);
        assert_eq!(turn, floor, "{}: the floor must send exactly the turn's requests", C::NAME);
    });
}

fn bench_case<C: Case>(c: &mut Criterion, runtime: &Runtime, case: &C) {
    check_floor(runtime, case);
    let mut group = c.benchmark_group("turn");
    group.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    group.bench_function(C::NAME, |b| {
        b.to_async(runtime).iter_custom(|iters| async move {
            let world = world().await;
            let mut total = Duration::ZERO;
            for i in 0..iters {
                world.next_hour();
                let id = format!("c{i}");
                let token = case.prepare(&world, &id).await;
                let started = Instant::now();
                case.turn(&world, &id, token).await;
                total += started.elapsed();
            }
            retire(world).await;
            total
        })
    });
    if !C::HTTP {
        group.finish();
        return;
    }
    group.bench_function(format!("{}/http_floor", C::NAME), |b| {
        b.to_async(runtime).iter_custom(|iters| async move {
            let world = world().await;
            let mut total = Duration::ZERO;
            for i in 0..iters {
                world.next_hour();
                // The same untimed preparation as the turn, so both see mocks in the same state.
                case.prepare(&world, &format!("c{i}")).await;
                let started = Instant::now();
                case.floor(&world).await;
                total += started.elapsed();
            }
            retire(world).await;
            total
        })
    });
    group.finish();
}

fn turns(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    bench_case(c, &runtime, &SmallTalk);
    bench_case(c, &runtime, &MatchThenDisclose);
    bench_case(c, &runtime, &OpenLink);
    bench_case(c, &runtime, &DiscloseAfterLink);
    bench_case(c, &runtime, &ConfirmedUpdate);
}

criterion_group!(benches, turns);
criterion_main!(benches);
