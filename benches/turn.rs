//! One agent turn of each kind against the wiremock mocks, and in the same run
//! the floor: the bare HTTP calls that turn makes, sent with the same client
//! to the same mocks. The difference is what the agent itself costs.
//!
//! Each timed turn runs in a fresh conversation brought to the right state
//! by untimed turns before it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use leakproof::agent::{Agent, AgentSettings, Visitor};
use leakproof::config::{Channel, ObjectType};
use leakproof::crm::{Crm, CrmSettings};
use leakproof::identity::{ConversationId, SigningKey};
use leakproof::mail::MailSettings;
use leakproof::mocks::Mocks;

const MAREN: &str = "maren.solberg@example.com";

struct Bench {
    _mocks: Mocks,
    mocks_mail: leakproof::mocks::MockMail,
    agent: Agent,
    crm: Crm,
    now: Timestamp,
}

async fn setup() -> Bench {
    let fixtures = leakproof::fixtures::load_file("scenarios/fixtures/default.yaml").expect("fixtures");
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
    Bench {
        mocks_mail: mocks.mail.clone(),
        _mocks: mocks,
        agent,
        crm,
        now: "2026-05-01T09:00:00Z".parse().expect("time"),
    }
}

impl Bench {
    async fn say(&self, conversation: &str, text: &str) -> leakproof::agent::Turn {
        self.agent
            .handle(
                &ConversationId::from(conversation),
                Channel::LiveChat,
                &Visitor::default(),
                text,
                self.now,
            )
            .await
    }
}

fn turns(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let bench = runtime.block_on(setup());
    let bench = &bench;
    let mut group = c.benchmark_group("turn");
    group.measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));

    group.bench_function("small_talk", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let id = format!("talk-{i}-{}", fastrand());
                let started = Instant::now();
                std::hint::black_box(bench.say(&id, "hello there").await);
                total += started.elapsed();
            }
            total
        })
    });

    group.bench_function("match_then_disclose", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let id = format!("match-{i}-{}", fastrand());
                bench.say(&id, "what is my city?").await;
                let started = Instant::now();
                let turn = bench.say(&id, MAREN).await;
                total += started.elapsed();
                assert!(turn.replies.join(" ").contains("Kirkby Lonsdale"));
            }
            total
        })
    });
    group.bench_function("match_then_disclose/http_floor", |b| {
        b.to_async(&runtime).iter(|| async move {
            let contact =
                bench.crm.search_contact_by_email(MAREN, &["email", "firstname"]).await.expect("search");
            std::hint::black_box(contact);
            bench.crm.get(ObjectType::Contact, 101, &["city"], &[]).await.expect("get")
        })
    });

    group.bench_function("open_link_then_disclose", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let id = format!("link-{i}-{}", fastrand());
                bench.say(&id, "what is my billing address?").await;
                bench.say(&id, MAREN).await;
                let link = bench.mocks_mail.latest_link(MAREN).expect("a link");
                let token = link.path().rsplit('/').next().unwrap_or_default().to_owned();
                let started = Instant::now();
                assert!(bench.agent.open_link(&token, bench.now).await.verified);
                let turn = bench.say(&id, "done").await;
                total += started.elapsed();
                assert!(turn.replies.join(" ").contains("Kestrel Row"));
            }
            total
        })
    });
    group.bench_function("open_link_then_disclose/http_floor", |b| {
        b.to_async(&runtime).iter(|| async move {
            bench.crm.get(ObjectType::Contact, 101, &["address"], &[]).await.expect("get")
        })
    });

    group.bench_function("confirmed_update", |b| {
        b.to_async(&runtime).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let id = format!("update-{i}-{}", fastrand());
                bench.say(&id, MAREN).await;
                bench.say(&id, "change my preferred language to English").await;
                let started = Instant::now();
                let turn = bench.say(&id, "yes").await;
                total += started.elapsed();
                assert!(turn.replies.join(" ").contains("English"));
            }
            total
        })
    });
    group.bench_function("confirmed_update/http_floor", |b| {
        let change = BTreeMap::from([("hs_language".to_owned(), "English".to_owned())]);
        let change = &change;
        b.to_async(&runtime)
            .iter(|| async move { bench.crm.update(ObjectType::Contact, 101, change).await.expect("update") })
    });
    group.finish();
}

/// A per-process nonce, so conversation ids of warm-up and measurement never collide.
fn fastrand() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

criterion_group!(benches, turns);
criterion_main!(benches);
