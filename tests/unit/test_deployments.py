"""prefect.yaml is the one definition of the deployments: it validates as ``prefect deploy``
reads it, names the four flows with the parameters the issue fixes, and
``hubwatch.flows.deployments`` (``hubwatch serve``) builds the same deployments from it."""

from __future__ import annotations

import pytest
from prefect.cli.deploy._models import PrefectYamlModel  # what `prefect deploy` validates with
from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import ValidationError, validate

from hubwatch.flows.deployments import (
    flow_for,
    load_deployment_specs,
    prefect_yaml_path,
    runner_deployments,
    schedules_for,
)

PARAMETERS = {
    ("nightly", "scheduled"): {"max_pages"},
    ("ingest", "manual"): {"sources", "urls", "max_pages", "since", "dry_run"},
    ("import-warc", "manual"): {"paths"},
    ("reprocess", "manual"): {"extract", "since"},
}


@pytest.fixture(scope="module")
def specs():
    return load_deployment_specs()


def test_prefect_yaml_validates_as_prefect_deploy_reads_it():
    import yaml

    model = PrefectYamlModel.model_validate(yaml.safe_load(prefect_yaml_path().read_text()))
    assert model.pull is None  # `prefect deploy` records the checkout folder itself
    assert {d.work_pool.name for d in model.deployments} == {"hubwatch"}


def test_four_deployments_with_their_parameters(specs):
    found = {}
    for spec in specs:
        flow = flow_for(spec["entrypoint"])
        found[(flow.name, spec["name"])] = set(parameter_schema(flow).properties)
    assert found == PARAMETERS


def test_serve_builds_the_same_deployments(specs):
    built = {(d.flow_name, d.name): d for d in runner_deployments()}
    assert set(built) == set(PARAMETERS)
    for spec in specs:
        d = built[(flow_for(spec["entrypoint"]).name, spec["name"])]
        module, _, func = spec["entrypoint"].partition(":")
        # module path, so runs load the code from an installed package too
        assert d.entrypoint == module.removesuffix(".py").replace("/", ".") + "." + func
        assert d.enforce_parameter_schema is True
        assert d.description == spec["description"] and d.tags == spec["tags"]
    nightly = built[("nightly", "scheduled")]
    assert nightly.concurrency_limit == 1
    assert nightly.concurrency_options.collision_strategy.value == "ENQUEUE"
    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert schedule.active is True
    assert all(not d.schedules for key, d in built.items() if key != ("nightly", "scheduled"))


def test_schedules_agree_with_prefect_deploy(specs):
    for spec in specs:
        ours = schedules_for(spec)
        theirs = [_schedule_config_to_deployment_schedule(s)["schedule"]
                  for s in spec.get("schedules") or []]
        assert [(s.cron, s.timezone, s.day_or) for s in ours] == \
               [(t.cron, t.timezone, t.day_or) for t in theirs]


def test_parameters_are_typed_and_validated():
    ingest = flow_for("hubwatch.flows.orchestration:ingest")
    schema = parameter_schema(ingest).model_dump_for_openapi()
    validate({"urls": ["https://example.org/a"], "since": "2025-01-01", "dry_run": True}, schema,
             raise_on_error=True, ignore_required=True)
    for bad in ({"urls": "https://example.org/a"}, {"max_pages": "many"}, {"dry_run": "maybe"}):
        with pytest.raises(ValidationError):
            validate(bad, schema, raise_on_error=True, ignore_required=True)


def test_a_broken_prefect_yaml_names_the_entry(tmp_path):
    bad = tmp_path / "prefect.yaml"
    bad.write_text("deployments:\n  - name: scheduled\n    entrypoint: nightly\n")
    with pytest.raises(ValueError, match=r"deployments\[0\]"):
        load_deployment_specs(bad)
    (tmp_path / "empty.yaml").write_text("name: x\n")
    with pytest.raises(ValueError, match="no deployments"):
        load_deployment_specs(tmp_path / "empty.yaml")
