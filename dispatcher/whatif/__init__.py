"""The what-if wing: scenario files, simulated demand, rolling-horizon replay and reports.

Modules, from the inside out (docs/simulation.md):

- ``demand``: the ticket demand model, history CSV replay, station helpers;
- ``stats``: confidence intervals over replications;
- ``modifications``: what a variant changes (engineers, absences, demand, commitments …);
- ``model``: the scenario as data (base, variants, solver and simulation settings);
- ``scenario_file``: reading and validating a TOML/YAML scenario file;
- ``roster``: the base roster of engineers as a problem without orders;
- ``simulate``: snapshot comparison, the replay engine, runners and the head-count search;
- ``report``: JSON, CSV, charts and the HTML report;
- ``cli``: ``dispatch simulate`` (cheap to import; the rest is imported when it runs).
"""
