use crate::helpers::{session_cookie, spawn_app};

testkit::each_backend!(sign_in_with_the_right_password_sets_a_session_cookie);
async fn sign_in_with_the_right_password_sets_a_session_cookie(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    app.add_user("alice", "correct horse").await;

    let response = app
        .call(
            "sign_in",
            &[("username", "alice"), ("password", "correct horse")],
        )
        .await;
    assert!(response.status().is_success() || response.status().is_redirection());
    let raw = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sr_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(raw.contains("HttpOnly"), "{raw}");
    assert!(raw.contains("SameSite=Lax"), "{raw}");
    let cookie = session_cookie(&response).expect("cookie");

    let me = app
        .client
        .post(format!("{}/api/current_user", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    let body: serde_json::Value = me.json().await.expect("json");
    assert_eq!(body["username"], "alice");
}

testkit::each_backend!(wrong_password_is_refused_without_a_cookie);
async fn wrong_password_is_refused_without_a_cookie(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    app.add_user("alice", "correct horse").await;

    let response = app
        .call(
            "sign_in",
            &[("username", "alice"), ("password", "wrong horse")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(session_cookie(&response).is_none());
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body, "Wrong user name or password.");
}

testkit::each_backend!(repeated_failures_are_throttled_even_with_the_right_password);
async fn repeated_failures_are_throttled_even_with_the_right_password(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    app.add_user("alice", "correct horse").await;
    for _ in 0..5 {
        app.call("sign_in", &[("username", "alice"), ("password", "guess")])
            .await;
    }
    let response = app
        .call(
            "sign_in",
            &[("username", "alice"), ("password", "correct horse")],
        )
        .await;
    assert!(session_cookie(&response).is_none());
    let body: serde_json::Value = response.json().await.expect("json");
    let text = body.as_str().expect("a refusal");
    assert!(text.starts_with("Too many failed attempts"), "{text}");
}

testkit::each_backend!(a_burst_of_parallel_guesses_is_cut_off_at_the_limit);
async fn a_burst_of_parallel_guesses_is_cut_off_at_the_limit(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    app.add_user("alice", "correct horse").await;
    // Twenty guesses sent at once: the limit must hold even though none has been answered when
    // the others arrive.
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let client = app.client.clone();
        let address = app.address.clone();
        guesses.spawn(async move {
            client
                .post(format!("{address}/api/sign_in"))
                .header("Origin", &address)
                .form(&[("username", "alice"), ("password", &format!("guess {i}"))])
                .send()
                .await
                .expect("request")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        });
    }
    let answers = guesses.join_all().await;
    let checked = answers
        .iter()
        .filter(|a| *a == "Wrong user name or password.")
        .count();
    assert_eq!(
        checked, 5,
        "only the allowed attempts were checked: {answers:?}"
    );
}

testkit::each_backend!(a_cross_site_post_is_refused);
async fn a_cross_site_post_is_refused(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    app.add_user("alice", "correct horse").await;
    let response = app
        .client
        .post(format!("{}/api/sign_in", app.address))
        .header("Origin", "https://evil.example")
        .form(&[("username", "alice"), ("password", "correct horse")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    assert!(session_cookie(&response).is_none());

    let fetch_metadata = app
        .client
        .post(format!("{}/api/sign_in", app.address))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("username", "alice"), ("password", "correct horse")])
        .send()
        .await
        .expect("request");
    assert_eq!(fetch_metadata.status(), 403);
}

testkit::each_backend!(sign_out_ends_the_session);
async fn sign_out_ends_the_session(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    app.add_user("alice", "correct horse").await;
    let response = app
        .call(
            "sign_in",
            &[("username", "alice"), ("password", "correct horse")],
        )
        .await;
    let cookie = session_cookie(&response).expect("cookie");

    let out = app
        .client
        .post(format!("{}/api/sign_out", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert!(out.status().is_success() || out.status().is_redirection());

    let me = app
        .client
        .post(format!("{}/api/current_user", app.address))
        .header("Origin", &app.address)
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("request");
    let body: serde_json::Value = me.json().await.expect("json");
    assert!(body.is_null(), "the old cookie no longer signs in: {body}");
}

testkit::each_backend!(the_home_page_sends_people_to_their_archive_or_to_sign_in);
async fn the_home_page_sends_people_to_their_archive_or_to_sign_in(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    app.add_user("alice", "correct horse").await;

    let anonymous = app.get_as(None, "/").await;
    assert_eq!(anonymous.status(), 302);
    assert_eq!(anonymous.headers()["location"], "/sign-in");
    let anonymous_mail = app.get_as(None, "/mail").await;
    assert_eq!(anonymous_mail.status(), 302);
    assert_eq!(anonymous_mail.headers()["location"], "/sign-in");

    let response = app
        .call(
            "sign_in",
            &[("username", "alice"), ("password", "correct horse")],
        )
        .await;
    let cookie = session_cookie(&response).expect("cookie");
    let signed_in = app.get_as(Some(&cookie), "/").await;
    assert_eq!(signed_in.status(), 302);
    assert_eq!(signed_in.headers()["location"], "/mail");
    let sign_in_again = app.get_as(Some(&cookie), "/sign-in").await;
    assert_eq!(sign_in_again.status(), 302);
    assert_eq!(sign_in_again.headers()["location"], "/mail");
    let mail = app.get_as(Some(&cookie), "/mail").await;
    assert_eq!(mail.status(), 200);
    let html = mail.text().await.expect("body");
    assert!(html.contains("No archive yet"), "{html}");
}
