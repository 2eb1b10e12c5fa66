"""The playground's JSON API through Starlette's TestClient: status codes, the guard (Host,
Origin, Content-Type, body size), the caps, formulas answered with the parser's words, runs
that diverge explained, and the page's headers."""

import json
import re
import time
import warnings

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's note about httpx2
    from starlette.testclient import TestClient

from gdlab import kernels, minimize  # noqa: E402
from gdlab.optim import OPTIMIZERS, make_rule  # noqa: E402
from gdlab.serve import limits  # noqa: E402
from gdlab.serve.app import STATIC, create_app  # noqa: E402
from gdlab.serve.presets import PRESETS  # noqa: E402
from gdlab.serve.security import allowed_hosts  # noqa: E402

BASE = "http://127.0.0.1:8000"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield TestClient(create_app("127.0.0.1", 8000), base_url=BASE)


def strict(response):
    """The body as JSON, refusing NaN and Infinity (which browsers' JSON.parse refuses)."""
    def refuse(name):
        raise AssertionError(f"non-JSON constant {name} in the answer")
    return json.loads(response.text, parse_constant=refuse)


def descend(client, **body):
    return client.post("/api/descend", json=body)


def fit(client, **body):
    return client.post("/api/fit", json=body)


RUN = {"optimizer": "sgd", "lr": 0.1}


# ---- the page and its headers ------------------------------------------------------------

def test_the_page_is_served_with_a_strict_policy(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    scripts = csp.split("script-src")[1].split(";")[0]
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in scripts
    assert r.headers["x-content-type-options"] == "nosniff"
    html = r.text
    # no inline script, no inline event handler, nothing from another host
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/static/' in tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html)
    assert not re.search(r"\son[a-z]+\s*=", html)
    assert "http://" not in html and "https://" not in html


def test_static_files_have_their_types_and_the_js_builds_no_markup_from_text(client):
    r = client.get("/static/js/main.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert client.get("/static/css/app.css").headers["content-type"].startswith("text/css")
    plotly = client.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and "plotly.js v4.1.2" in plotly.text[:200]
    for path in (STATIC / "js").glob("*.js"):
        code = path.read_text()
        for banned in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "eval(", "new Function(",
                       "document.write", "http://", "https://"):
            assert banned not in code, (path.name, banned)


def test_the_catalog_lists_every_optimizer_gdlab_has(client):
    r = client.get("/api/catalog")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    cat = strict(r)
    distinct = []
    for name in OPTIMIZERS:
        if make_rule(name).config() not in [make_rule(n).config() for n in distinct]:
            distinct.append(name)
    assert list(cat["optimizers"]) == distinct          # gd is sgd's alias
    assert cat["optimizers"]["adam"]["defaults"]["betas"] == [0.9, 0.999]
    assert "cosine" in cat["schedules"] and cat["limits"]["max_starts"] == limits.MAX_STARTS
    assert {p["id"] for p in cat["presets"]} >= {
        "derivative", "gd-quadratic", "learning-rate", "ascent", "many-variables", "sgd-vs-gd",
        "local-minima", "sgd-escape", "mlp-activations"}


# ---- the guard ---------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1:9999", "localhost",
                                  "attacker.test:8000", "127.0.0.1.nip.io:8000"])
def test_a_foreign_host_header_is_refused(client, host):
    for r in (client.get("/", headers={"host": host}),
              client.post("/api/descend", json={"formula": "x"}, headers={"host": host})):
        assert r.status_code == 400 and "Host" in r.json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000",
                                  "LOCALHOST:8000"])
def test_the_servers_own_names_are_served(client, host):
    assert client.get("/api/catalog", headers={"host": host}).status_code == 200


def test_allowed_hosts():
    assert allowed_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert "192.168.1.5:8080" in allowed_hosts("192.168.1.5", 8080)
    assert "localhost" in allowed_hosts("127.0.0.1", 80)
    assert "0.0.0.0:8000" not in allowed_hosts("0.0.0.0", 8000)


def test_another_origin_is_refused_the_own_origin_and_none_are_served(client):
    body = {"formula": "x**2", "starts": [[1]], "runs": [RUN]}
    bad = client.post("/api/descend", json=body, headers={"origin": "http://evil.example"})
    assert bad.status_code == 403
    assert client.post("/api/descend", json=body, headers={"origin": "null"}).status_code == 403
    assert client.post("/api/descend", json=body, headers={"origin": BASE}).status_code == 200
    assert client.post("/api/descend", json=body).status_code == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])
def test_compute_requests_need_a_json_body(client, ctype):
    headers = {"content-type": ctype} if ctype else {}
    r = client.post("/api/descend", content=b'{"formula": "x"}', headers=headers)
    assert r.status_code == 415


def test_other_methods_and_bad_json(client):
    assert client.put("/api/descend", json={}).status_code == 405
    assert client.delete("/api/descend").status_code == 405
    r = client.post("/api/descend", content=b"{not json",
                    headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    assert client.post("/api/descend", json=[1, 2]).status_code == 400


def test_bodies_over_a_megabyte_are_refused_by_length_and_by_count(client):
    big = b'{"formula": "' + b"x" * limits.MAX_BODY_BYTES + b'"}'
    r = client.post("/api/descend", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    # a lying Content-Length is refused when it is over
    r = client.post("/api/descend", content=b"{}", headers={"content-type": "application/json",
                                                             "content-length": "2000000"})
    assert r.status_code == 413

    def chunks():                      # no Content-Length: the bytes are counted as they come
        yield b'{"formula": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'
    r = client.post("/api/descend", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    small = b'{"formula": "x**2", "starts": [[1]], "runs": []}'
    r = client.post("/api/descend", content=iter([small[:10], small[10:]]),
                    headers={"content-type": "application/json"})
    assert r.status_code == 200


# ---- formulas ---------------------------------------------------------------------------

@pytest.mark.parametrize("formula", [
    "__import__('os').system('echo owned')", "open('/etc/passwd').read()", "x.__class__",
    "lambda: 0", "9**9**9**9", "(" * 300 + "x" + ")" * 300, "exec('1')", "x; y", "x if y else 1",
    "[x for x in y]", "f'{x}'", "x @ y", "2x",
])
def test_hostile_formulas_get_the_parsers_message(client, formula):
    r = descend(client, formula=formula, starts=[[1]], runs=[RUN])
    assert r.status_code == 400
    body = r.json()
    assert body["kind"] == "formula" and body["message"]
    assert body["error"].startswith(body["message"])


def test_a_formula_error_has_its_position_and_hint(client):
    body = descend(client, formula="2x + 1", starts=[], runs=[]).json()
    assert body["position"] == 1 and body["hint"] == "did you mean 2*x?"
    assert body["text"] == "2x + 1"


def test_formula_text_over_the_limit_is_refused(client):
    r = descend(client, formula="x+" * 6000 + "x", starts=[], runs=[])
    assert r.status_code == 400


# ---- runs -------------------------------------------------------------------------------

def test_a_descent_returns_the_picture_paths_and_reasons(client):
    r = descend(client, formula="x**2 + 2*x + 3", starts=[[5]], runs=[RUN])
    assert r.status_code == 200
    out = strict(r)
    assert out["function"]["gradient"] == ["2*x + 2"] and out["picture"]["kind"] == "curve"
    row = out["runs"][0]["starts"][0]
    assert row["status"] == "converged" and row["reason"].startswith("converged: |grad|")
    assert row["nit"] == 74 and len(row["path"][0]) == 75 and len(row["slope"]) == 75
    assert abs(row["path"][0][-1] + 1) < 1e-5


def test_two_variables_give_a_grid_and_a_field(client):
    out = strict(descend(client, formula="rosenbrock", starts=[[-1.2, 1]], grid=50, field=10,
                         runs=[{"optimizer": "adam", "lr": 0.05}]))
    pic = out["picture"]
    assert pic["kind"] == "grid" and len(pic["z"]) == 50 and len(pic["z"][0]) == 50
    assert out["view"] == [[-2.0, 2.0], [-1.0, 3.0]] and out["function"]["minima"] == [[1.0, 1.0]]
    assert len(pic["field"]["x"]) == 100 * 7


def test_a_diverging_run_is_drawn_and_explained_with_the_2_over_L_hint(client):
    runs = [{"optimizer": "sgd", "lr": 1.5, "label": "too large"}, RUN]
    r = descend(client, formula="x**2", starts=[[1]], runs=runs)
    assert r.status_code == 200
    out = strict(r)
    bad, good = (run["starts"][0] for run in out["runs"])
    assert bad["status"] == "diverged" and bad["failed"] and bad["diverged_step"] == 18
    assert "2/L = 1" in bad["reason"] and "(try lr=0.5)" in bad["reason"]
    assert bad["reason"] == minimize("x**2", x0=1, lr=1.5).reason
    assert good["status"] == "converged"


@pytest.mark.parametrize("formula, start, status", [
    ("exp(exp(x))", [10.0], "diverged"),      # overflows at the start
    ("x**3", [-1.0], "unbounded"),
    ("log(x)", [-1.0], "undefined"),
    ("1/x", [0.0], None),
])
def test_overflow_and_domains_are_statuses_not_errors(client, formula, start, status):
    r = descend(client, formula=formula, starts=[start],
                runs=[RUN, {"optimizer": "adam", "lr": 0.1}])
    assert r.status_code == 200
    rows = [run["starts"][0] for run in strict(r)["runs"]]
    if status:
        assert rows[0]["status"] == status and rows[0]["reason"].startswith(status)


def test_runs_raced_together_follow_the_paths_they_follow_alone(client):
    runs = [{"optimizer": "sgd", "lr": 0.01}, {"optimizer": "momentum", "lr": 0.01},
            {"optimizer": "nesterov", "lr": 0.005}, {"optimizer": "adam", "lr": 0.05},
            {"optimizer": "rmsprop", "lr": 0.01, "options": {"centered": True}},
            {"optimizer": "adagrad", "lr": 0.5, "schedule": {"name": "step", "step_size": 50}}]
    starts = [[-1.5, 2.0], [0.5, -0.5]]
    out = strict(descend(client, formula="rosenbrock", starts=starts, runs=runs, max_steps=300))
    for spec, run in zip(runs, out["runs"]):
        rule = make_rule(spec["optimizer"], lr=spec["lr"], **spec.get("options", {}))
        for start, row in zip(starts, run["starts"]):
            alone = minimize("rosenbrock", x0=start, optimizer=rule, max_iter=300,
                             schedule=spec.get("schedule"))
            assert row["nit"] == alone.nit and row["status"] == alone.status
            assert row["reason"] == alone.reason
            np.testing.assert_array_equal(np.array(row["path"]).T, alone.history.x)


def test_mixed_groups_follow_a_momentum_schedule_as_alone():
    """Mixed's groups with schedules that set the momentum (OneCycleLR's cycle_momentum)
    step as minimize steps each rule alone, and a rule without a momentum is refused as
    alone (the playground's page offers no such schedule yet; the stepper is general)."""
    from gdlab.errors import ParameterError
    from gdlab.optim.schedules import make_schedule
    from gdlab.serve.mixed import Mixed
    one_cycle = {"name": "OneCycleLR", "max_lr": 0.02, "total_steps": 200}
    specs = [("momentum", 0.01, one_cycle), ("adam", 0.05, one_cycle),
             ("rmsprop", 0.01, {"name": "step", "step_size": 30})]
    starts = np.array([[-1.5, 2.0], [0.5, -0.5]])
    groups = [(make_rule(n, lr=lr), make_schedule(sch), 2) for n, lr, sch in specs]
    raced = minimize("rosenbrock", x0=np.tile(starts, (3, 1)), optimizer=Mixed(groups),
                     max_iter=150)
    for k, (name, lr, sch) in enumerate(specs):
        for i, start in enumerate(starts):
            alone = minimize("rosenbrock", x0=start, optimizer=make_rule(name, lr=lr),
                             schedule=sch, max_iter=150)
            j = 2 * k + i
            assert raced.nits[j] == alone.nit and raced.statuses[j] == alone.status
            np.testing.assert_array_equal(raced.all_history.x[:alone.nit + 1, j],
                                          alone.history.x)
    refused = [(make_rule("adagrad", lr=0.1), make_schedule(one_cycle), 1)]
    with pytest.raises(ParameterError, match="cycle_momentum=False"):
        minimize("rosenbrock", x0=[[0.0, 0.0]], optimizer=Mixed(refused), max_iter=5)


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_fused_groups_step_in_one_call_and_follow_their_paths_alone(count_kernel):
    """Every fused rule and option as groups of one Mixed, with a NumPy-only rule and
    starts that stop at different steps (the loop's compaction repacks the slots): each
    row's path is the NumPy rule's alone, to the bit, and one kernel call per step moved
    the fused groups."""
    from gdlab.optim.fused import make_fused
    from gdlab.optim.schedules import make_schedule
    from gdlab.serve.mixed import Mixed
    calls = count_kernel("mixed_kernel")
    specs = [("sgd", 0.1, {}), ("sgd", 0.02, {"momentum": 0.9, "dampening": 0.2}),
             ("nesterov", 0.02, {"weight_decay": 0.01}), ("adam", 0.3, {}),
             ("adam", 0.05, {"amsgrad": True, "weight_decay": 0.01}),
             ("adamw", 0.05, {"betas": (0.3, 0.9)}), ("rmsprop", 0.01, {"centered": True}),
             ("rmsprop", 0.01, {"momentum": 0.5, "alpha": 0.3}),
             ("adagrad", 0.5, {"lr_decay": 0.01}), ("nadam", 0.05, {}), ("sgd", 1.2, {})]
    # a bowl (converges) with a cliff far out (the largest steps diverge)
    formula = "x**2 + 3*y**2 + exp(x - 6)"
    starts = np.array([[1.5, -1.0], [4.0, 2.0], [-0.2, 0.1]])
    groups = []
    for name, lr, options in specs:
        rule = make_rule(name, lr=lr, **options)
        groups.append((make_fused(rule) or rule, make_schedule({"name": "step",
                                                                "step_size": 40}), 3))
    packed = Mixed(groups).init(np.tile(starts, (len(specs), 1)))["packed"]
    assert packed == [name != "nadam" for name, _, _ in specs]  # nadam: its own step
    raced = minimize(formula, x0=np.tile(starts, (len(specs), 1)), optimizer=Mixed(groups),
                     max_iter=400, eps=1e-9)
    assert len(set(raced.nits)) > 3  # rows stopped at different steps
    assert calls[0] == max(raced.nits)
    for k, (name, lr, options) in enumerate(specs):
        for i, start in enumerate(starts):
            alone = minimize(formula, x0=start, optimizer=make_rule(name, lr=lr, **options),
                             schedule={"name": "step", "step_size": 40}, max_iter=400,
                             eps=1e-9)
            j = 3 * k + i
            assert raced.nits[j] == alone.nit and raced.statuses[j] == alone.status, (name, i)
            assert raced.all_history.x[:alone.nit + 1, j].tobytes() == \
                alone.history.x.tobytes(), (name, i)


@pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")
def test_prepare_compiles_what_a_race_calls():
    from gdlab.serve.mixed import prepare
    assert prepare()
    signatures = [str(a) for sig in kernels.mixed_kernel().signatures for a in sig]
    assert signatures[:2] == ["array(float64, 2d, C)"] * 2


def test_a_request_waits_for_the_compiled_steps_outside_its_time_limit(client, monkeypatch):
    """The first request of a process that finds the compiled steps not ready waits for them
    (the server's warm-up, or its own call) before its wall-clock limit starts."""
    from gdlab.serve import mixed
    strict(descend(client, formula="x**2 + y**2", starts=[[1.0, 1.0]], runs=[RUN]))  # parsed
    calls = []
    monkeypatch.setattr(mixed, "_prepared", False)
    monkeypatch.setattr(mixed, "prepare", lambda: calls.append(time.sleep(0.6)))
    monkeypatch.setattr(limits, "TIME_LIMIT", 0.5)
    for lr in (0.011, 0.012):
        out = strict(descend(client, formula="x**2 + y**2", starts=[[1.0, 1.0]],
                             runs=[RUN, {"optimizer": "adam", "lr": lr}], max_steps=50,
                             eps=1e-300))
        assert [run["starts"][0]["nit"] for run in out["runs"]] == [50, 50]
    assert len(calls) == 1 and mixed._prepared


def test_an_ascent(client):
    out = strict(descend(client, formula="-(x - 1)**2 - (y + 2)**2 + 3", starts=[[0, 0]],
                         runs=[RUN, {"optimizer": "adam", "lr": 0.1}], maximize=True))
    for run in out["runs"]:
        row = run["starts"][0]
        assert row["status"] == "converged" and abs(row["f"][-1] - 3) < 1e-9
        assert row["f"][-1] > row["f"][0]


def test_many_variables_have_no_picture_but_run(client):
    out = strict(descend(client, formula="(x-1)**2 + (y-2)**2 + (z-3)**2", starts=[[0, 0, 0]],
                         runs=[RUN]))
    assert out["picture"]["kind"] == "none" and out["runs"][0]["starts"][0]["status"] == "converged"


@pytest.mark.parametrize("body, words", [
    ({"starts": [[0]] * (limits.MAX_STARTS + 1), "runs": [RUN]}, "at most"),
    ({"starts": [[0]], "runs": [RUN] * (limits.MAX_RUNS + 1)}, "at most"),
    ({"starts": [[0]], "runs": [RUN], "max_steps": limits.MAX_STEPS + 1}, "max_steps"),
    ({"starts": [[0]], "runs": [RUN], "curve_points": limits.MAX_CURVE + 1}, "curve_points"),
    ({"starts": [[1e300]], "runs": [RUN]}, "start"),
    ({"starts": [[0], [0, 1]], "runs": [RUN]}, "1 value"),
    ({"starts": [[0]], "runs": [{"optimizer": "sgd"}]}, "lr"),
    ({"starts": [[0]], "runs": [{"optimizer": "sgdd", "lr": 0.1}]}, "did you mean"),
    ({"starts": [[0]], "runs": [{"optimizer": "sgd", "lr": 0.1, "options": {"lr": 1}}]}, "options"),
    ({"starts": [[0]], "runs": [{"optimizer": "adam", "lr": 0.1, "options": {"betas": "x"}}]},
     "betas"),
    ({"starts": [[0]], "runs": [{"optimizer": "sgd", "lr": 0.1, "schedule": {"name": "step",
                                                                             "evil": 1}}]}, "step"),
    ({"starts": [[0]], "runs": [RUN], "view": [[1, 0]]}, "low < high"),
    ({"starts": [[0]] * 20, "runs": [RUN] * 8, "max_steps": 5000}, "too many paths"),
])
def test_caps_and_bad_settings_are_400_with_a_message(client, body, words):
    r = descend(client, formula="x**2", **body)
    assert r.status_code == 400 and words in r.json()["error"]


def test_the_grid_cap(client):
    r = descend(client, formula="x*y", starts=[], runs=[], grid=limits.MAX_GRID + 1)
    assert r.status_code == 400 and "grid" in r.json()["error"]


def test_the_wall_clock_limit_stops_long_runs(client, monkeypatch):
    monkeypatch.setattr(limits, "TIME_LIMIT", 0.05)
    t = time.perf_counter()
    out = strict(descend(client, formula="rosenbrock", starts=[[-1.5, 2]] * 20,
                         runs=[{"optimizer": "sgd", "lr": 1e-5}] * 8, max_steps=2000,
                         eps=1e-300))
    assert time.perf_counter() - t < 5
    row = out["runs"][0]["starts"][0]
    assert row["status"] == "time_limit" and "0.05 s per request" in row["reason"]
    r = fit(client, task="classification", dataset={"name": "spirals", "n": 2000},
            model={"kind": "mlp", "hidden": [64, 64, 64, 64]}, epochs=1000,
            runs=[{"optimizer": "adam", "lr": 0.01, "batch_size": 1}] * 2)
    runs = strict(r)["runs"]
    assert runs[0]["status"] == "time_limit" and runs[1]["reason"].startswith("not run")


def test_unexpected_errors_are_a_generic_500(client, monkeypatch, caplog):
    import gdlab.serve.api as api

    def boom(body, deadline):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(api, "descend", boom)
    r = descend(client, formula="x", starts=[], runs=[])
    assert r.status_code == 500 and "secret" not in r.text and "internal error" in r.json()["error"]
    assert "secret internals" in caplog.text


# ---- data -------------------------------------------------------------------------------

def test_linear_regression_approaches_least_squares(client):
    out = strict(fit(client, task="regression", dataset={"name": "line", "n": 100}, epochs=200,
                     runs=[{"optimizer": "sgd", "lr": 0.1}, {"optimizer": "sgd", "lr": 0.01,
                                                             "batch_size": 1, "loss": "half_mse"}]))
    full, online = out["runs"]
    assert full["gap"]["coef"] < 1e-6 and full["gap"]["loss"] < 1e-10
    assert online["objective"] == "half_mse" and online["gap"]["coef"] < 0.1
    assert full["snapshots"][0]["epoch"] == 0 and full["snapshots"][-1]["epoch"] == 200
    assert abs(out["least_squares"]["coef"] - 1.5) < 0.3


@pytest.mark.parametrize("name", ["blobs", "moons", "circles", "spirals"])
def test_classification_sets_train_and_the_loss_falls(client, name):
    model = {"kind": "mlp", "hidden": [16], "activation": "relu"} if name != "blobs" \
        else {"kind": "logistic"}
    out = strict(fit(client, task="classification", dataset={"name": name, "n": 200},
                     model=model, epochs=50, runs=[{"optimizer": "adam", "lr": 0.05}]))
    run = out["runs"][0]
    assert run["loss"][-1] < run["loss"][0] and len(run["val_loss"]) == 50
    regions = run["snapshots"][-1]["regions"]
    assert len(regions) == 50 and set("".join(regions)) <= {"0", "1"}


def test_the_double_well_sgd_escapes_where_full_batch_stays(client):
    preset = next(p for p in PRESETS if p["id"] == "sgd-escape")["state"]
    out = strict(fit(client, **{k: preset[k] for k in ("task", "dataset", "model", "runs",
                                                       "epochs", "seed")}))
    gd, sgd = out["runs"]
    assert gd["final_w"] < 0 < sgd["final_w"]


def test_a_csv_upload_trains_and_a_bad_one_names_row_and_column(client):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    lines = ["a,b,label"] + [f"{x:.3f},{y:.3f},{'yes' if x + y > 0 else 'no'}" for x, y in X]
    r = fit(client, task="classification", dataset={"name": "csv", "text": "\n".join(lines)},
            model={"kind": "logistic"}, epochs=20, runs=[RUN])
    assert r.status_code == 200 and strict(r)["classes"] == ["no", "yes"]
    lines[5] = "1.0,oops,yes"
    r = fit(client, task="classification", dataset={"name": "csv", "text": "\n".join(lines)},
            model={"kind": "logistic"}, runs=[RUN])
    error = r.json()["error"]
    assert r.status_code == 400 and "row 5" in error and "column '2'" in error
    many = "\n".join(["1,2,0", "2,1,1"] * (limits.MAX_ROWS // 2 + 1))
    r = fit(client, task="classification", dataset={"name": "csv", "text": many}, runs=[RUN])
    assert r.status_code == 400 and "at most" in r.json()["error"]


@pytest.mark.parametrize("body, words", [
    ({"dataset": {"name": "moons", "n": limits.MAX_ROWS + 1}}, "n"),
    ({"model": {"kind": "mlp", "hidden": [8] * (limits.MAX_LAYERS + 1)}}, "layer"),
    ({"model": {"kind": "mlp", "hidden": [limits.MAX_UNITS + 1]}}, "hidden"),
    ({"epochs": limits.MAX_EPOCHS + 1}, "epochs"),
    ({"region": limits.MAX_REGION + 1}, "region"),
    ({"dataset": {"name": "blobs", "classes": 3}, "model": {"kind": "logistic"}}, "softmax"),
    ({"model": {"kind": "mlp", "activation": "swish"}}, "activation"),
    ({"runs": []}, "at least"),
])
def test_data_caps_are_400(client, body, words):
    payload = {"task": "classification", "dataset": {"name": "moons", "n": 50},
               "model": {"kind": "mlp"}, "epochs": 2, "runs": [RUN], **body}
    r = fit(client, **payload)
    assert r.status_code == 400 and words in r.json()["error"]


# ---- presets ----------------------------------------------------------------------------

@pytest.mark.parametrize("preset", PRESETS, ids=[p["id"] for p in PRESETS])
def test_every_preset_runs(client, preset):
    st = preset["state"]
    if st["tab"] == "functions":
        body = {k: st[k] for k in ("formula", "starts", "runs", "max_steps", "eps", "maximize",
                                   "view")}
        out = strict(descend(client, **body))
        rows = [row for run in out["runs"] for row in run["starts"]]
        assert len(rows) == len(st["runs"]) * len(st["starts"])
        failed = [row["status"] for row in rows if row["failed"]]
        assert failed == (["diverged"] if preset["id"] == "learning-rate" else [])
    else:
        body = {k: st[k] for k in ("task", "dataset", "model", "runs", "epochs", "validation",
                                   "seed")}
        out = strict(fit(client, **body))
        assert all(run["status"] == "end_of_data" for run in out["runs"])


def test_a_moved_slider_recomputes_only_its_run(client):
    from gdlab.serve.cache import RUNS
    runs = [{"optimizer": "adam", "lr": 0.05}, {"optimizer": "rmsprop", "lr": 0.01}]
    first = strict(descend(client, formula="beale", starts=[[1, 1]], runs=runs))
    hits = RUNS.hits
    runs[1] = {"optimizer": "rmsprop", "lr": 0.0123}
    second = strict(descend(client, formula="beale", starts=[[1, 1]], runs=runs))
    assert RUNS.hits == hits + 1
    assert second["runs"][0]["starts"] == first["runs"][0]["starts"]
    alone = minimize("beale", x0=[1, 1], optimizer="rmsprop", lr=0.0123, max_iter=1000)
    assert second["runs"][1]["starts"][0]["nit"] == alone.nit


# ---- the command ------------------------------------------------------------------------

def test_gdlab_serve_parses_its_options_and_calls_the_server(monkeypatch):
    import gdlab.serve
    import gdlab.serve.server
    from gdlab.cli import main
    calls = []
    monkeypatch.setattr(gdlab.serve.server, "serve", lambda *a: calls.append(a))
    assert main(["serve", "--port", "8123", "--no-browser"]) == 0
    assert main(["serve"]) == 0
    assert calls == [("127.0.0.1", 8123, False), ("127.0.0.1", 8000, True)]


def test_gdlab_serve_says_what_is_missing(monkeypatch, capsys):
    import importlib.util

    from gdlab.cli import main
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    assert main(["serve", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert "needs uvicorn" in err and "gdlab[serve]" in err and "Traceback" not in err
    monkeypatch.setattr(importlib.util, "find_spec", real)
    assert main(["serve", "--port", "70000"]) == 2
    assert "port must be" in capsys.readouterr().err


def test_the_address_printed():
    from gdlab.serve.server import url_of
    assert url_of("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert url_of("::1", 8080) == "http://[::1]:8080/"
    assert url_of("0.0.0.0", 8000) == "http://127.0.0.1:8000/"


def test_starts_placed_for_another_formula_are_set_aside_and_said_so(client):
    out = strict(descend(client, formula="x**2", starts=[[1, 2], [3, 4]], runs=[RUN]))
    assert out["starts_ignored"] is True and out["runs"] == []


def test_a_request_whose_page_moved_on_is_not_computed(monkeypatch):
    import anyio

    import gdlab.serve.api as api

    class Gone:
        url = type("U", (), {"path": "/api/descend"})()

        async def body(self):
            return b'{"formula": "x"}'

        async def is_disconnected(self):
            return True

    def never(body, deadline):
        raise AssertionError("computed for a client that went away")
    r = anyio.run(api._compute, Gone(), never)
    assert r.status_code == 499


def test_the_page_has_the_stable_test_ids():
    code = (STATIC / "index.html").read_text() + "".join(
        p.read_text() for p in (STATIC / "js").glob("*.js"))
    for testid in ("formula", "optimizer-list", "add-optimizer", "run", "reset", "share",
                   "plot", "loss-plot", "status", "task", "dataset", "dataset-n",
                   "dataset-noise", "dataset-classes", "dataset-seed", "dataset-csv", "model",
                   "model-loss", "model-hidden", "model-activation", "model-l2", "epochs",
                   "validation", "train", "batch-size", "download-png", "download-json"):
        assert re.search(rf"""(data-testid="{testid}"|testid: '{testid}'|'{testid}',)""",
                         code), testid
