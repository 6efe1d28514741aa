"""Every human text of the figures and the report, in English and French.

Messages are keyed by an identifier and written once per language (``MESSAGES[lang][key]``); a
:class:`Labels` object gives the text of one language (``labels.t("fig.cost.title")``) and formats
numbers the way its readers write them: ``1,234.5`` and ``12%`` in English, ``1 234,5`` and
``12 %`` in French (with a narrow no-break space, which never breaks a number across lines).

The English labels of the headline metrics are those of :data:`sim.reading.analysis.HEADLINE`, so
the report and ``sim compare`` read the same; their French versions are here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from sim.delivery.needs import need_keys
from sim.errors import UserInputError
from sim.reading.analysis import HEADLINE, NEED_METRICS, SHARE_UNITS, outcome_label
from sim.reading.names import DisplayNames

LANGUAGES = ("en", "fr")
#: Narrow no-break space: French thousands separator and space before ``%``, ``:`` and ``;``.
NNBSP = "\u202f"
#: No-break space: before ``:`` in French.
NBSP = "\u00a0"
#: Arm names that are mechanism names, shown by their readable name.
MECHANISM_NAMES = ("status_quo", "planned", "call_for_projects", "impact_contract")

#: (key, English, French). Placeholders in braces are filled by ``Labels.t(key, **values)``.
_TEXTS: tuple[tuple[str, str, str], ...] = (
    # ---- ways of funding (arms named after their mechanism)
    ("arm.status_quo", "status quo", "statu quo"),
    ("arm.planned", "planned programme", "programme planifié"),
    ("arm.call_for_projects", "call for projects", "appel à projets"),
    ("arm.impact_contract", "social impact contract", "contrat à impact social"),
    # ---- French versions of the headline metrics (English: sim.reading.analysis.HEADLINE)
    ("metric.participants", "", "participants"),
    ("metric.public_spending_eur", "", "dépense publique"),
    ("metric.society_cost_eur", "", "coût pour la société"),
    ("metric.investor_net_eur", "", "résultat net de l'investisseur"),
    ("metric.avoided_public_cost_eur", "", "coûts publics évités"),
    ("metric.npv_eur", "", "valeur actuelle nette pour les finances publiques"),
    ("metric.reach_share_barrier_q4", "", "participants du quart le plus éloigné de l'emploi"),
    ("metric.creaming_index", "", "indice d'écrémage (0 = aucun)"),
    ("metric.decision_accuracy", "", "décisions justes d'extension ou d'arrêt"),
    ("metric.contract_payments_eur", "", "paiements du contrat"),
    ("metric.investor_lost_money", "", "l'investisseur a perdu de l'argent"),
    (
        "metric.deadweight_share_of_paid_outcomes",
        "",
        "part d'effet d'aubaine parmi les résultats payés (simulations avec paiements)",
    ),
    # ---- units of the headline metrics
    ("unit.people", "people", "personnes"),
    ("unit.outcomes", "outcomes", "résultats"),
    ("unit.EUR", "€", "€"),
    ("unit.share", "share", "part"),
    ("unit.index", "index", "indice"),
    ("unit.share of runs", "share of runs", "part des simulations"),
    # ---- monthly series: label, unit of the level, unit of the difference
    (
        "series.sustained_jobs_cumulative",
        "Residents who have held a job for 6 months (cumulative)",
        "Habitants ayant tenu un emploi 6 mois (cumul)",
    ),
    ("series.sustained_jobs_cumulative.unit", "residents", "habitants"),
    ("series.unemployment_rate", "Unemployment rate", "Taux de chômage"),
    (
        "series.unemployment_rate.unit",
        "% of working-age residents",
        "% des habitants d'âge actif",
    ),
    ("series.rsa_claimed", "Residents receiving the RSA (minimum income)", "Allocataires du RSA"),
    ("series.rsa_claimed.unit", "residents", "habitants"),
    (
        "series.rsa_eligible",
        "Residents eligible for the RSA (minimum income)",
        "Habitants éligibles au RSA",
    ),
    ("series.rsa_eligible.unit", "residents", "habitants"),
    (
        "series.non_take_up",
        "Eligible residents not claiming the RSA (non-take-up)",
        "Non-recours au RSA parmi les habitants éligibles",
    ),
    ("series.non_take_up.unit", "% of eligible residents", "% des habitants éligibles"),
    (
        "series.long_term_unemployed",
        "Long-term unemployed (out of work 12 months or more)",
        "Chômeurs de longue durée (12 mois ou plus sans emploi)",
    ),
    ("series.long_term_unemployed.unit", "residents", "habitants"),
    (
        "series.enrolled",
        "Residents enrolled in a funded action",
        "Habitants inscrits dans une action financée",
    ),
    ("series.enrolled.unit", "residents", "habitants"),
    (
        "series.public_cost_eur",
        "Public cost of residents (unemployment insurance, RSA, support)",
        "Coût public des habitants (assurance chômage, RSA, accompagnement)",
    ),
    ("series.public_cost_eur.unit", "€ per month", "€ par mois"),
    (
        "series.french_a1_plus_initial_non_speakers",
        "Residents without French at the start who reached level A1",
        "Habitants sans français au départ ayant atteint le niveau A1",
    ),
    ("series.french_a1_plus_initial_non_speakers.unit", "% of them", "% d'entre eux"),
    ("unit.percentage_points", "percentage points", "points de pourcentage"),
    # ---- kinds of cash flows and payers
    ("kind.activity", "activity paid whatever the results", "activité payée sans condition"),
    ("kind.grant", "grants", "subventions"),
    ("kind.outcome_payment", "payments for outcomes", "paiements aux résultats"),
    ("kind.investment", "investor's capital", "capital de l'investisseur"),
    ("kind.repayment", "repayments to the investor", "remboursements à l'investisseur"),
    ("kind.transaction", "transaction costs", "frais de transaction"),
    ("kind.evaluation", "evaluation", "évaluation"),
    ("kind.incubator", "incubator support", "accompagnement par un incubateur"),
    ("kind.other", "other spending", "autres dépenses"),
    # ---- shared figure text
    ("fig.month", "Month of the simulation", "Mois de la simulation"),
    ("fig.first_point", "first of {n} sweep points", "premier des {n} points du balayage"),
    ("fig.point", "sweep point {point}", "point {point} du balayage"),
    ("fig.pooled", "all {n} sweep points pooled", "les {n} points du balayage réunis"),
    (
        "fig.one_replication",
        "one replication: no interval",
        "une seule réplication : pas d'intervalle",
    ),
    ("fig.replications", "{n} replications", "{n} réplications"),
    ("fig.bands", "shaded: 95 % of replications", "zone ombrée : 95 % des réplications"),
    ("fig.error_bars", "black lines: 95 % interval", "traits noirs : intervalle à 95 %"),
    ("fig.undefined", "undefined", "non défini"),
    # ---- figure: outcomes over time
    (
        "fig.outcomes.title",
        "How outcomes evolved month by month under each way of funding, and how far each one "
        "moved away from its status-quo twin",
        "Évolution mois par mois des résultats selon chaque mode de financement, et écart de "
        "chacun avec son jumeau au statu quo",
    ),
    ("fig.outcomes.level", "{series}: level", "{series} : niveau"),
    (
        "fig.outcomes.merged",
        "At this scale the arms' lines would hide the\nstatus quo's: their differences are "
        "at right",
        "À cette échelle, les courbes des dispositifs\ncacheraient celle du statu quo : leurs "
        "écarts sont à droite",
    ),
    (
        "fig.outcomes.difference",
        "Difference from the status quo (same residents, same random draws)",
        "Écart avec le statu quo (mêmes habitants, mêmes tirages aléatoires)",
    ),
    ("fig.outcomes.difference_unit", "difference in {unit}", "écart en {unit}"),
    # ---- figure: validated against true outcomes
    (
        "fig.validated.title",
        "{outcome}: validated by the evaluators compared with truly additional "
        "(known here thanks to the status-quo twin)",
        "{outcome} : validés par les évaluateurs comparés aux réellement "
        "supplémentaires (connus ici grâce au jumeau au statu quo)",
    ),
    (
        "fig.validated.true",
        "truly additional (arm minus its twin)",
        "réellement supplémentaires (dispositif moins son jumeau)",
    ),
    ("fig.validated.measured", "validated by the evaluators", "validés par les évaluateurs"),
    (
        "fig.validated.ylabel",
        "{outcome} (mean over replications)",
        "{outcome} (moyenne sur les réplications)",
    ),
    (
        "fig.validated.deadweight",
        "deadweight: {share} of counted outcomes",
        "effet d'aubaine : {share} des résultats comptés",
    ),
    # ---- figure: spending per true additional outcome
    (
        "fig.cost.title",
        "{outcome}: spending per true additional one (lower is better)",
        "{outcome} : dépense par résultat réellement supplémentaire (plus bas = mieux)",
    ),
    (
        "fig.cost.xlabel",
        "{unit} per true additional outcome",
        "{unit} par résultat réellement supplémentaire",
    ),
    ("fig.cost.public", "public spending", "dépense publique"),
    (
        "fig.cost.society",
        "cost to society (every payer, the investor's loss included)",
        "coût pour la société (tous les payeurs, perte de l'investisseur comprise)",
    ),
    (
        "fig.cost.undefined",
        "undefined: no true additional outcome on average",
        "non défini : aucun résultat réellement supplémentaire en moyenne",
    ),
    # ---- figure: cash flows of the public payer
    (
        "fig.cash.title",
        "When the public purse pays, by kind of spending (mean per month), and what each way "
        "of funding is worth to the public purse",
        "Quand les finances publiques paient, par type de dépense (moyenne par mois), et ce "
        "que chaque mode de financement leur rapporte",
    ),
    ("fig.cash.ylabel", "{unit} per month", "{unit} par mois"),
    ("money.euros", "€", "€"),
    ("money.thousands", "thousand €", "milliers d'€"),
    ("money.millions", "million €", "millions d'€"),
    (
        "fig.cash.npv_title",
        "Net present value\nto the public purse\n(costs avoided minus spending)",
        "Valeur actuelle nette\npour les finances publiques\n(coûts évités moins dépenses)",
    ),
    ("fig.cash.npv_xlabel", "{unit}, discounted", "{unit}, actualisés"),
    ("fig.cash.none", "no public spending", "aucune dépense publique"),
    # ---- figure: the investor's return
    (
        "fig.investor.title",
        "The investor's return in the social impact contract over {n} runs: the investor lost "
        "money in {share} of them",
        "Rendement de l'investisseur dans le contrat à impact social sur {n} simulations : "
        "l'investisseur a perdu de l'argent dans {share} d'entre elles",
    ),
    ("fig.investor.irr", "Internal rate of return", "Taux de rendement interne"),
    ("fig.investor.irr_xlabel", "% per year", "% par an"),
    (
        "fig.investor.multiple",
        "Money multiple (euros received per euro invested)",
        "Multiple de l'investissement (euros reçus par euro investi)",
    ),
    (
        "fig.investor.multiple_xlabel",
        "euros received per euro invested",
        "euros reçus par euro investi",
    ),
    ("fig.investor.ylabel", "runs", "simulations"),
    ("fig.investor.break_even", "break-even", "seuil de rentabilité"),
    (
        "fig.investor.irr_undefined",
        "rate undefined in {k} of {n} runs\n(too little paid back to compute one)",
        "taux non défini dans {k} simulations sur {n}\n(trop peu remboursé pour le calculer)",
    ),
    (
        "fig.investor.loss_box",
        "probability that the investor loses money: {share}",
        "probabilité que l'investisseur perde de l'argent : {share}",
    ),
    # ---- figure: reach by barrier quartile
    (
        "fig.reach.title",
        "Who was reached: share of participants from each quarter of the initially unemployed, "
        "from the most job-ready to the hardest to help",
        "Qui a été atteint : part des participants venant de chaque quart des chômeurs du "
        "départ, du plus proche au plus éloigné de l'emploi",
    ),
    ("fig.reach.ylabel", "share of participants", "part des participants"),
    (
        "fig.reach.xlabel",
        "quarter of the unemployed, by barriers to employment",
        "quart des chômeurs, selon leurs freins à l'emploi",
    ),
    ("fig.reach.no_selection", "25 %: no selection", "25 % : aucune sélection"),
    ("fig.reach.q1", "1st quarter\n(most job-ready)", "1er quart\n(le plus proche de l'emploi)"),
    ("fig.reach.q2", "2nd quarter", "2e quart"),
    ("fig.reach.q3", "3rd quarter", "3e quart"),
    (
        "fig.reach.q4",
        "4th quarter\n(hardest to help)",
        "4e quart\n(le plus éloigné de l'emploi)",
    ),
    # ---- figure: territories
    (
        "fig.map.title",
        "Where the true additional {outcome} happened: mean per {thousand} working-age "
        "residents in each micro-territory",
        "Où se sont produits les {outcome} réellement supplémentaires : moyenne pour "
        "{thousand} habitants d'âge actif dans chaque micro-territoire",
    ),
    (
        "fig.map.colorbar",
        "true additional {outcome}\nper {thousand} working-age residents",
        "{outcome} réellement supplémentaires\npour {thousand} habitants d'âge actif",
    ),
    (
        "fig.map.qpv",
        "thick outline: priority neighbourhood (QPV)",
        "contour épais : quartier prioritaire (QPV)",
    ),
    (
        "fig.map.edges",
        "lines join adjacent territories",
        "les traits relient les territoires voisins",
    ),
    # ---- figure: pilot decisions
    (
        "fig.pilots.title",
        "Were the right pilots scaled up? Decisions on evaluated pilots, against whether each "
        "pilot truly works ({n} replications)",
        "Les bons projets pilotes ont-ils été étendus ? Décisions sur les projets évalués, "
        "selon qu'ils fonctionnent vraiment ou non ({n} réplications)",
    ),
    ("fig.pilots.works", "pilots that truly work", "projets qui fonctionnent vraiment"),
    ("fig.pilots.idle", "pilots that do not work", "projets qui ne fonctionnent pas"),
    ("fig.pilots.scale", "scaled up", "étendus"),
    ("fig.pilots.stop", "stopped", "arrêtés"),
    ("fig.pilots.right", "right decision", "bonne décision"),
    ("fig.pilots.wrong", "wrong decision", "mauvaise décision"),
    ("fig.pilots.ylabel", "decisions (all replications)", "décisions (toutes réplications)"),
    # ---- figures left out for lack of data
    ("nodata.series", "No monthly series in this batch.", "Aucune série mensuelle dans ce lot."),
    (
        "nodata.arms",
        "No way of funding other than the status quo in this batch.",
        "Aucun mode de financement autre que le statu quo dans ce lot.",
    ),
    (
        "nodata.cost",
        "No way of funding produced true additional outcomes on average: spending per outcome "
        "is undefined.",
        "Aucun mode de financement n'a produit de résultat réellement supplémentaire en "
        "moyenne : la dépense par résultat n'est pas définie.",
    ),
    (
        "nodata.cash",
        "No public spending recorded in this batch.",
        "Aucune dépense publique enregistrée dans ce lot.",
    ),
    (
        "nodata.contract",
        "No social impact contract in this batch.",
        "Aucun contrat à impact social dans ce lot.",
    ),
    (
        "nodata.reach",
        "No participants in this batch.",
        "Aucun participant dans ce lot.",
    ),
    (
        "nodata.territories",
        "No per-territory results in this batch.",
        "Aucun résultat par territoire dans ce lot.",
    ),
    (
        "nodata.city",
        "The city of this batch could not be rebuilt from its scenario (its territory table "
        "was not found).",
        "La ville de ce lot n'a pas pu être reconstruite à partir de son scénario (table des "
        "territoires introuvable).",
    ),
    (
        "nodata.pilots",
        "No call for projects with evaluated pilots in this batch.",
        "Aucun appel à projets avec des projets pilotes évalués dans ce lot.",
    ),
    ("nodata.skipped", "Figure left out: {reason}", "Graphique omis : {reason}"),
    # ---- captions (how to read each figure)
    (
        "caption.outcomes",
        "Left: the level of each indicator in every way of funding, status quo included. "
        "Right: the difference with the status-quo twin of the same replication, which is the "
        "true effect. Shaded bands hold 95 % of the replications.",
        "À gauche : le niveau de chaque indicateur dans chaque mode de financement, statu quo "
        "compris. À droite : l'écart avec le jumeau au statu quo de la même réplication, "
        "c'est-à-dire l'effet réel. Les bandes ombrées contiennent 95 % des réplications.",
    ),
    (
        "caption.validated",
        "Where validated outcomes exceed truly additional ones, the evaluators counted "
        "outcomes that would have happened anyway (deadweight); where they fall short, "
        "evaluations missed real effects (for instance outcomes outside evaluated pilots).",
        "Quand les résultats validés dépassent les résultats réellement supplémentaires, les "
        "évaluateurs ont compté des résultats qui seraient arrivés de toute façon (effet "
        "d'aubaine) ; quand ils sont en deçà, les évaluations ont manqué des effets réels "
        "(par exemple hors des projets pilotes évalués).",
    ),
    (
        "caption.cost",
        "Mean public spending attributed to this need divided by the mean number of its true "
        "additional outcomes, and the same for the cost to society, with 95 % bootstrap "
        "intervals over replications. Spending that served several needs is shared in "
        "proportion to each need's own spending.",
        "Dépense publique moyenne attribuée à ce besoin divisée par le nombre moyen de ses "
        "résultats réellement supplémentaires, et de même pour le coût pour la société, avec "
        "des intervalles à 95 % obtenus par rééchantillonnage des réplications. Une dépense qui "
        "a servi plusieurs besoins est répartie au prorata de la dépense propre à chacun.",
    ),
    (
        "caption.cash",
        "Bars: what public payers spend each month, by kind. In a social impact contract the "
        "investor pays the operator first and the city repays later, for validated outcomes "
        "only. Right: net present value of costs avoided minus spending (negative: the "
        "action costs more than it saves).",
        "Barres : ce que les payeurs publics dépensent chaque mois, par type. Dans un contrat "
        "à impact social, l'investisseur paie d'abord l'opérateur et la ville rembourse plus "
        "tard, pour les seuls résultats validés. À droite : valeur actuelle nette des coûts "
        "évités moins les dépenses (négative : l'action coûte plus qu'elle ne fait économiser).",
    ),
    (
        "caption.investor",
        "Distribution of the investor's return over every replication and sweep point. Left of "
        "the break-even line, the investor got back less than it put in.",
        "Distribution du rendement de l'investisseur sur toutes les réplications et tous les "
        "points du balayage. À gauche du seuil de rentabilité, l'investisseur a récupéré "
        "moins que sa mise.",
    ),
    (
        "caption.reach",
        "The initially unemployed are split into four equal quarters by their barriers to "
        "employment. A programme that picked participants at random would take 25 % from each "
        "quarter; more from the first quarter means creaming.",
        "Les chômeurs du départ sont répartis en quatre quarts égaux selon leurs freins à "
        "l'emploi. Un programme qui choisirait ses participants au hasard en prendrait 25 % "
        "dans chaque quart ; davantage dans le premier quart signale un écrémage.",
    ),
    (
        "caption.map",
        "Each circle is a micro-territory placed on the city map; its colour gives the mean "
        "true additional {outcome} per {thousand} working-age residents.",
        "Chaque cercle est un micro-territoire placé sur le plan de la ville ; sa couleur "
        "donne la moyenne des {outcome} réellement supplémentaires pour {thousand} habitants "
        "d'âge actif.",
    ),
    (
        "caption.pilots",
        "Each evaluated pilot was scaled up or stopped. Scaling a pilot that works and "
        "stopping one that does not are right decisions; the simulation knows which pilots "
        "truly work.",
        "Chaque projet pilote évalué a été étendu ou arrêté. Étendre un projet qui fonctionne "
        "et arrêter un projet qui ne fonctionne pas sont de bonnes décisions ; la simulation "
        "sait quels projets fonctionnent vraiment.",
    ),
    (
        "caption.first_point",
        "Sweep: this figure shows the first of {n} sweep points",
        "Balayage : ce graphique montre le premier des {n} points du balayage",
    ),
    (
        "caption.point",
        "Sweep: this figure shows sweep point {point} of {n} (sim report --point N for another).",
        "Balayage : ce graphique montre le point {point} sur {n} (sim report --point N pour un "
        "autre).",
    ),
    (
        "caption.sweep",
        "Each panel: one key result (rows) along one swept parameter (columns). With several "
        "swept parameters, each point is the mean over the other parameters' values, and the band "
        "its 95 % interval over replications (which share their random draws across points).",
        "Chaque panneau : un résultat clé (lignes) selon un paramètre balayé (colonnes). Avec "
        "plusieurs paramètres balayés, chaque point est la moyenne sur les valeurs des autres "
        "paramètres, et la zone ombrée son intervalle à 95 % sur les réplications (qui partagent "
        "leurs tirages aléatoires d'un point à l'autre).",
    ),
    (
        "caption.sweep_heatmap",
        "Net present value to the public purse for each pair of values of the first two swept "
        "parameters (mean over replications and over the other swept parameters). Blue: the "
        "public purse gains; red: it loses.",
        "Valeur actuelle nette pour les finances publiques pour chaque couple de valeurs des deux "
        "premiers paramètres balayés (moyenne sur les réplications et les autres paramètres "
        "balayés). Bleu : les finances publiques y gagnent ; rouge : elles y perdent.",
    ),
    (
        "report.sweep",
        "Along the sweep",
        "Le long du balayage",
    ),
    (
        "report.sweep_note",
        "Every sweep point of the batch: the values of the swept parameters, then the key "
        "results against the status quo (mean [95 % interval] over replications).",
        "Tous les points du balayage : les valeurs des paramètres balayés, puis les principaux "
        "résultats par rapport au statu quo (moyenne [intervalle à 95 %] sur les réplications).",
    ),
    (
        "report.sweep_details",
        "Every metric at each sweep point (click a point to open its table)",
        "Tous les indicateurs à chaque point du balayage (cliquer sur un point pour ouvrir son "
        "tableau)",
    ),
    ("report.point_label", "Point {point}: {values}", "Point {point} : {values}"),
    ("report.arm", "Way of funding", "Mode de financement"),
    (
        "report.few_replications",
        "Only {n} replications per way of funding: the 95 % intervals are wide and not reliable "
        "(at least {min} are advised). Add replications before drawing conclusions.",
        "Seulement {n} réplications par mode de financement : les intervalles à 95 % sont larges "
        "et peu fiables (au moins {min} sont conseillées). Ajoutez des réplications avant de "
        "conclure.",
    ),
    (
        "caption.pooled",
        "Sweep: this figure pools all {n} sweep points.",
        "Balayage : ce graphique réunit les {n} points du balayage.",
    ),
    # ---- the report
    (
        "report.title",
        "Funding social action in a simulated city: {name}",
        "Financer l'action sociale dans une ville simulée : {name}",
    ),
    (
        "report.intro",
        "This report compares ways a city can fund social action (employment support, French "
        "courses, access to rights). Each way of funding was simulated next to a status-quo "
        "twin that shares every random draw, so the differences below are true effects, not "
        "estimates.",
        "Ce rapport compare des façons, pour une ville, de financer l'action sociale "
        "(accompagnement vers l'emploi, cours de français, accès aux droits). Chaque mode de "
        "financement a été simulé à côté d'un jumeau au statu quo qui partage tous ses tirages "
        "aléatoires : les écarts ci-dessous sont des effets réels, pas des estimations.",
    ),
    ("report.description", "Scenario description", "Description du scénario"),
    ("report.contents", "Contents", "Sommaire"),
    ("report.conclusions", "What the numbers say", "Ce que disent les chiffres"),
    ("report.table", "The ways of funding side by side", "Les modes de financement côte à côte"),
    (
        "report.table_note",
        "Each cell: mean difference with the status-quo twin across {n} replications, with its "
        "95 % interval in brackets. An empty cell does not apply to that way of funding.",
        "Chaque case : écart moyen avec le jumeau au statu quo sur {n} réplications, avec son "
        "intervalle à 95 % entre crochets. Une case vide ne concerne pas ce mode de "
        "financement.",
    ),
    ("report.indicator", "Indicator", "Indicateur"),
    ("report.unit", "Unit", "Unité"),
    (
        "report.risk",
        "Who bore the risk of the social impact contracts",
        "Qui a porté le risque des contrats à impact social",
    ),
    (
        "report.risk_note",
        "Across the replications of each contract: how often the investor lost money, how "
        "often the payer paid for outcomes that were not additional, and the spread of the "
        "payer's net present value (5th and 95th percentiles).",
        "Sur les réplications de chaque contrat : la fréquence à laquelle l'investisseur a "
        "perdu de l'argent, celle à laquelle le payeur a payé des résultats non "
        "supplémentaires, et la dispersion de la valeur actuelle nette du payeur (5e et 95e "
        "centiles).",
    ),
    ("report.way", "Way of funding", "Mode de financement"),
    ("report.sweep_point", "Sweep point", "Point du balayage"),
    ("report.col_replications", "Replications", "Réplications"),
    (
        "report.col_investor_loses",
        "Investor lost money",
        "Perte pour l'investisseur",
    ),
    (
        "report.col_payer_non_additional",
        "Payer paid for non-additional outcomes",
        "Paiement de résultats non supplémentaires",
    ),
    (
        "report.col_npv",
        "Payer's net present value: mean [5th, 95th percentile]",
        "Valeur actuelle nette du payeur : moyenne [5e ; 95e centile]",
    ),
    (
        "report.col_multiple",
        "Investor's money multiple (mean)",
        "Multiple de l'investisseur (moyenne)",
    ),
    ("report.figures", "Figures", "Graphiques"),
    ("report.figure_files", "Files:", "Fichiers :"),
    ("report.glossary", "Glossary", "Glossaire"),
    ("report.provenance", "Where these results come from", "D'où viennent ces résultats"),
    ("report.sweep_values", "Values of this point:", "Valeurs de ce point :"),
    (
        "report.sweep_first",
        "This batch is a sweep of {n} points: the section \u201cAlong the sweep\u201d shows "
        "them all; the conclusions, the table and the other figures show point {point}.",
        "Ce lot est un balayage de {n} points : la section \u00ab\u00a0Le long du "
        "balayage\u00a0\u00bb les montre tous ; les conclusions, le tableau et les autres "
        "graphiques portent sur le point {point}.",
    ),
    (
        "report.no_comparison",
        "No completed run to compare.",
        "Aucune simulation terminée à comparer.",
    ),
    # provenance
    ("prov.batch", "Batch", "Lot"),
    ("prov.database", "Results database", "Base de résultats"),
    ("prov.scenario_path", "Scenario file", "Fichier du scénario"),
    (
        "prov.hash",
        "Batch fingerprint: scenario, city table, sim version and commit (SHA-256)",
        "Empreinte du lot : scénario, table de la ville, version et révision de sim (SHA-256)",
    ),
    ("prov.version", "Version of sim that ran the batch", "Version de sim ayant produit le lot"),
    ("prov.commit", "Source code revision (git)", "Révision du code source (git)"),
    ("prov.seed", "Root random seed", "Graine aléatoire racine"),
    ("prov.months", "Months simulated", "Mois simulés"),
    ("prov.replications", "Replications per sweep point", "Réplications par point du balayage"),
    ("prov.points", "Sweep points", "Points du balayage"),
    (
        "prov.runs",
        "Runs done / failed / planned (status-quo twins included)",
        "Simulations terminées / échouées / prévues (jumeaux au statu quo compris)",
    ),
    ("prov.status", "Batch status", "État du lot"),
    ("prov.created", "Started", "Commencé le"),
    ("prov.finished", "Finished", "Terminé le"),
    ("prov.report", "Report made", "Rapport produit le"),
    ("prov.report_version", "Report made with sim", "Rapport produit avec sim"),
    ("prov.city", "City", "Ville"),
    (
        "prov.city_illustrative",
        "illustrative: its figures are not observed statistics of a real city ({fields})",
        "illustrative : ses chiffres ne sont pas des statistiques observées d'une vraie ville "
        "({fields})",
    ),
    (
        "prov.city_sourced",
        "figures from published statistics (see the city table's sources)",
        "chiffres tirés de statistiques publiées (voir les sources de la table de la ville)",
    ),
    ("prov.city_unknown", "not stored with this batch", "non enregistrée avec ce lot"),
    ("prov.all_fields", "all its figures", "tous ses chiffres"),
    (
        "prov.illustrative",
        "Illustrative defaults (no source yet; see docs/sources.md)",
        "Valeurs par défaut illustratives (sans source pour l'instant ; voir docs/sources.md)",
    ),
    (
        "prov.primary",
        "Primary outcome (ranks the arms)",
        "Résultat principal (classe les dispositifs)",
    ),
    ("prov.unknown", "unknown", "inconnu"),
    ("status.running", "running", "en cours"),
    ("status.finished", "finished", "terminé"),
    ("status.interrupted", "interrupted", "interrompu"),
    ("status.finished_with_failures", "finished with failed runs", "terminé avec des échecs"),
    # ---- conclusions, written from the numbers
    (
        "concl.best",
        "Most {outcome} truly added per public euro: {arm}, with {cost} of public spending "
        "per true additional one (95 % interval: {low} to {high}).",
        "Le plus de {outcome} réellement supplémentaires par euro public : {arm}, avec {cost} "
        "de dépense publique par résultat réellement supplémentaire (intervalle à 95 % : {low} "
        "à {high}).",
    ),
    (
        "concl.best_no_interval",
        "Most {outcome} truly added per public euro: {arm}, with {cost} of public spending "
        "per true additional one.",
        "Le plus de {outcome} réellement supplémentaires par euro public : {arm}, avec {cost} "
        "de dépense publique par résultat réellement supplémentaire.",
    ),
    ("concl.others", "For comparison: {others}.", "En comparaison : {others}."),
    ("concl.other_cost", "{arm} {cost}", "{arm} {cost}"),
    (
        "concl.other_undefined",
        "{arm} (none truly added on average)",
        "{arm} (aucun réellement supplémentaire en moyenne)",
    ),
    (
        "concl.rank_uncertain",
        "Compared replication by replication with the next best ({arm}), the difference in cost "
        "per outcome is not clear of noise: with this many replications the ranking is not "
        "certain.",
        "Comparé réplication par réplication au suivant ({arm}), l'écart de coût par résultat "
        "ne se distingue pas du bruit : avec ce nombre de réplications, le classement n'est "
        "pas certain.",
    ),
    (
        "concl.rank_clear",
        "Compared replication by replication with the next best, it costs less per outcome, "
        "beyond the noise (95 % interval of the paired difference above zero): the ranking is "
        "clear.",
        "Comparé réplication par réplication au suivant, il coûte moins par résultat, au-delà "
        "du bruit (intervalle à 95 % de l'écart apparié au-dessus de zéro) : le classement est "
        "net.",
    ),
    (
        "concl.no_best",
        "No way of funding produced more {outcome} than the status quo on average, so "
        "spending per true additional one is undefined for all of them.",
        "Aucun mode de financement n'a produit plus de {outcome} que le statu quo en moyenne : "
        "la dépense par résultat réellement supplémentaire n'est définie pour aucun.",
    ),
    (
        "nodata.need",
        "No arm changed or validated any {outcome}.",
        "Aucun dispositif n'a changé ni validé de {outcome}.",
    ),
    (
        "concl.primary",
        "Arms are ranked on {outcome}, the scenario's primary outcome; outcomes of different "
        "needs (jobs, French, rights) are never added together.",
        "Les dispositifs sont classés sur les {outcome}, résultat principal du scénario ; les "
        "résultats de besoins différents (emploi, français, droits) ne sont jamais additionnés.",
    ),
    (
        "concl.society",
        "Counting every payer and the investor's gain or loss (the cost to society), each "
        "true additional one cost: {costs}.",
        "En comptant tous les payeurs et le gain ou la perte de l'investisseur (le coût pour la "
        "société), chaque résultat réellement supplémentaire a coûté : {costs}.",
    ),
    (
        "concl.outcomes",
        "{arm}: {n} true additional {outcome} (95 % interval: {low} to {high}) for {spend} of "
        "public spending attributed to them; the evaluators validated {validated}.",
        "{arm} : {n} {outcome} réellement supplémentaires (intervalle à 95 % : {low} à {high}) "
        "pour {spend} de dépense publique qui leur est attribuée ; les évaluateurs en ont "
        "validé {validated}.",
    ),
    (
        "concl.outcomes_no_interval",
        "{arm}: {n} true additional {outcome} for {spend} of public spending attributed to "
        "them; the evaluators validated {validated}.",
        "{arm} : {n} {outcome} réellement supplémentaires pour {spend} de dépense publique qui "
        "leur est attribuée ; les évaluateurs en ont validé {validated}.",
    ),
    (
        "concl.noise",
        "This difference with the status quo is within noise: its interval includes zero.",
        "Cet écart avec le statu quo reste dans le bruit : son intervalle contient zéro.",
    ),
    (
        "concl.clear",
        "The difference with the status quo is clear: its interval excludes zero.",
        "L'écart avec le statu quo est net : son intervalle exclut zéro.",
    ),
    (
        "concl.one_replication",
        "With a single replication there is no interval: effect and noise cannot be told apart.",
        "Avec une seule réplication, il n'y a pas d'intervalle : effet et bruit ne peuvent pas "
        "être distingués.",
    ),
    (
        "concl.deadweight",
        "{share} of the outcomes counted among participants would have happened anyway "
        "(deadweight).",
        "{share} des résultats comptés chez les participants seraient arrivés de toute façon "
        "(effet d'aubaine).",
    ),
    (
        "concl.reach",
        "{arm}: {share} of participants came from the hardest-to-help quarter of the "
        "unemployed (25 % would mean no selection)",
        "{arm} : {share} des participants venaient du quart des chômeurs le plus éloigné de "
        "l'emploi (25 % signifierait aucune sélection)",
    ),
    (
        "concl.reach_over",
        "; the hardest to help were over-represented.",
        " ; les plus éloignés de l'emploi étaient surreprésentés.",
    ),
    (
        "concl.reach_under",
        "; they were under-represented (creaming).",
        " ; ils étaient sous-représentés (écrémage).",
    ),
    (
        "concl.reach_even",
        "; this cannot be told apart from no selection.",
        " ; impossible de distinguer cela d'une absence de sélection.",
    ),
    ("concl.reach_plain", ".", "."),
    (
        "concl.risk_contract",
        "{arm}: the investor lost money in {p_loss} of {n} replications, and the payer paid "
        "for outcomes that were not additional in {p_non} of them. Net present value to the "
        "payer: {npv} on average (5th to 95th percentile: {p05} to {p95}).",
        "{arm} : l'investisseur a perdu de l'argent dans {p_loss} des {n} réplications, et le "
        "payeur a payé des résultats non supplémentaires dans {p_non} d'entre elles. Valeur "
        "actuelle nette pour le payeur : {npv} en moyenne (du 5e au 95e centile : {p05} à "
        "{p95}).",
    ),
    (
        "concl.risk_public",
        "{arms}: the public payer bears all the risk, paying for activity whatever the results.",
        "{arms} : le payeur public porte tout le risque, car il paie l'activité quels que "
        "soient les résultats.",
    ),
    (
        "concl.pilots",
        "{arm}: {accuracy} of the {total} scale-up and stop decisions, pooled over {n} "
        "replications, were right (the table's figure is the mean of each replication's share). "
        "Wrong decisions: pilots that do not work but were scaled up, {false_scale}; pilots "
        "that work but were stopped, {false_stop}.",
        "{arm} : {accuracy} des {total} décisions d'extension ou d'arrêt, toutes réplications "
        "confondues ({n}), étaient justes (le tableau donne la moyenne des parts de chaque "
        "réplication). Mauvaises décisions : projets sans effet étendus, {false_scale} ; projets "
        "efficaces arrêtés, {false_stop}.",
    ),
    (
        "concl.single",
        "Public spending per true additional outcome ({outcome}), {arm}: {cost} (95 % interval: "
        "{low} to {high}).",
        "Dépense publique par résultat réellement supplémentaire ({outcome}), {arm} : {cost} "
        "(intervalle à 95 % : {low} à {high}).",
    ),
    (
        "concl.single_no_interval",
        "Public spending per true additional outcome ({outcome}), {arm}: {cost}.",
        "Dépense publique par résultat réellement supplémentaire ({outcome}), {arm} : {cost}.",
    ),
    (
        "concl.risk_sweep",
        "{arm}, across the {points} sweep points: the probability that the investor loses "
        "ranged from {loss_low} to {loss_high}, that the payer pays for non-additional outcomes "
        "from {non_low} to {non_high}, and the payer's mean net present value from {npv_low} to "
        "{npv_high}.",
        "{arm}, sur les {points} points du balayage : la probabilité de perte de l'investisseur "
        "va de {loss_low} à {loss_high}, celle que le payeur paie des résultats non "
        "supplémentaires de {non_low} à {non_high}, et la valeur actuelle nette moyenne du "
        "payeur de {npv_low} à {npv_high}.",
    ),
    ("concl.value_title", "Value for money", "Rapport coût-résultats"),
    ("concl.effects_title", "Effects against the status quo", "Effets par rapport au statu quo"),
    ("concl.reach_title", "Who was reached", "Qui a été atteint"),
    ("concl.risk_title", "Who bore the risk", "Qui a porté le risque"),
    ("concl.pilots_title", "Decisions on pilots", "Décisions sur les projets pilotes"),
    (
        "concl.money_title",
        "Monetised view (optional, beside the counts above)",
        "Vue monétisée (facultative, à côté des comptes ci-dessus)",
    ),
    (
        "concl.money_values",
        "Euro values per true additional outcome used here (the needs' defaults or the "
        "scenario's [values]): "
        "{values}. They are assumptions, not results: the counts per need above do not depend "
        "on them.",
        "Valeurs en euros par résultat réellement supplémentaire utilisées ici (celles des "
        "besoins par défaut, ou [values] du scénario) : {values}. Ce sont des hypothèses, pas "
        "des résultats : les comptes par besoin ci-dessus n'en dépendent pas.",
    ),
    (
        "concl.money_arm",
        "{arm}: outcomes worth {value} at these values (95 % interval: {low} to {high}), for "
        "{spend} of public spending.",
        "{arm} : des résultats valant {value} à ces valeurs (intervalle à 95 % : {low} à "
        "{high}), pour {spend} de dépense publique.",
    ),
    ("concl.money_pair", "{outcome} {value}", "{outcome} {value}"),
    ("concl.and", "{first} and {last}", "{first} et {last}"),
    # ---- glossary: term, definition
    ("glossary.twin", "Twin (status-quo twin)", "Jumeau (jumeau au statu quo)"),
    (
        "glossary.twin.text",
        "The same city simulated without the new way of funding, with exactly the same random "
        "draws. It shows what would have happened anyway, resident by resident.",
        "La même ville simulée sans le nouveau mode de financement, avec exactement les mêmes "
        "tirages aléatoires. Il montre ce qui serait arrivé de toute façon, habitant par "
        "habitant.",
    ),
    ("glossary.true", "True additional outcome", "Résultat réellement supplémentaire"),
    (
        "glossary.true.text",
        "An outcome (a job held 6 months, French level A1 reached, an RSA claim opened) that "
        "happens in a way of funding but not in its twin. Only a simulation knows it exactly.",
        "Un résultat (emploi tenu 6 mois, niveau A1 de français atteint, droit au RSA ouvert) "
        "qui se produit avec un mode de financement mais pas dans son jumeau. Seule une "
        "simulation le connaît exactement.",
    ),
    ("glossary.deadweight", "Deadweight", "Effet d'aubaine"),
    (
        "glossary.deadweight.text",
        "Outcomes of participants that would have happened without the programme. Counting "
        "or paying for them overstates what the programme achieved.",
        "Résultats de participants qui seraient arrivés sans le programme. Les compter ou les "
        "payer surestime ce que le programme a obtenu.",
    ),
    ("glossary.creaming", "Creaming", "Écrémage"),
    (
        "glossary.creaming.text",
        "Picking the participants easiest to help, who often would have succeeded anyway. The "
        "creaming index is 0.5 minus the participants' mean rank by barriers to employment "
        "(from 0 to 1): above 0, the more job-ready were picked.",
        "Choisir les participants les plus faciles à aider, qui auraient souvent réussi de "
        "toute façon. L'indice d'écrémage vaut 0,5 moins le rang moyen des participants selon "
        "leurs freins à l'emploi (de 0 à 1) : au-dessus de 0, les plus proches de l'emploi ont "
        "été choisis.",
    ),
    ("glossary.validated", "Validated outcome", "Résultat validé"),
    (
        "glossary.validated.text",
        "An outcome an evaluator attributes to the programme with its own design (comparison "
        "group, historical baseline, randomised trial). It can differ from the true "
        "additional outcomes, which evaluators cannot observe.",
        "Un résultat qu'un évaluateur attribue au programme avec sa propre méthode (groupe de "
        "comparaison, référence historique, essai randomisé). Il peut différer des résultats "
        "réellement supplémentaires, que les évaluateurs ne peuvent pas observer.",
    ),
    ("glossary.contract", "Social impact contract", "Contrat à impact social"),
    (
        "glossary.contract.text",
        "An investor pre-finances an action; the payer (here the city) repays the investor, "
        "with a return, only for the outcomes an evaluator validates.",
        "Un investisseur préfinance une action ; le payeur (ici la ville) le rembourse, avec "
        "un rendement, seulement pour les résultats validés par un évaluateur.",
    ),
    ("glossary.call", "Call for projects", "Appel à projets"),
    (
        "glossary.call.text",
        "Associations propose pilots; the pilots are evaluated, then scaled up or stopped.",
        "Des associations proposent des projets pilotes, qui sont évalués puis étendus ou arrêtés.",
    ),
    ("glossary.planned", "Planned programme", "Programme planifié"),
    (
        "glossary.planned.text",
        "A multi-year plan: budgets split by formula, activity paid whatever the results.",
        "Un plan pluriannuel : budgets répartis par formule, activité payée quels que soient "
        "les résultats.",
    ),
    ("glossary.replication", "Replication", "Réplication"),
    (
        "glossary.replication.text",
        "One draw of the simulated world. All ways of funding of a replication share its "
        "random draws; differences between replications show the noise.",
        "Un tirage du monde simulé. Tous les modes de financement d'une réplication partagent "
        "ses tirages aléatoires ; les écarts entre réplications montrent le bruit.",
    ),
    ("glossary.interval", "95 % interval", "Intervalle à 95 %"),
    (
        "glossary.interval.text",
        "The range that holds the mean difference with 95 % confidence given the replications "
        "run. An interval that includes zero means the effect cannot be told apart from noise.",
        "La plage qui contient l'écart moyen avec une confiance de 95 %, compte tenu des "
        "réplications simulées. Un intervalle qui contient zéro signifie que l'effet ne se "
        "distingue pas du bruit.",
    ),
    ("glossary.npv", "Net present value", "Valeur actuelle nette"),
    (
        "glossary.npv.text",
        "Public costs avoided minus public spending, month by month, discounted to the start: "
        "a euro later is worth less than a euro now.",
        "Coûts publics évités moins dépenses publiques, mois par mois, actualisés au départ : "
        "un euro plus tard vaut moins qu'un euro aujourd'hui.",
    ),
    ("glossary.rsa", "RSA", "RSA"),
    (
        "glossary.rsa.text",
        "Revenu de solidarité active, the French minimum income. Many eligible residents do "
        "not claim it (non-take-up).",
        "Revenu de solidarité active, le minimum social. Beaucoup d'habitants éligibles ne le "
        "demandent pas (non-recours).",
    ),
    ("glossary.a1", "French level A1", "Niveau A1 de français"),
    (
        "glossary.a1.text",
        "The first level of the Common European Framework of Reference for Languages: basic "
        "everyday French.",
        "Le premier niveau du Cadre européen commun de référence pour les langues : un "
        "français de base pour la vie quotidienne.",
    ),
    ("glossary.qpv", "QPV", "QPV"),
    (
        "glossary.qpv.text",
        "Quartier prioritaire de la politique de la ville: a priority neighbourhood of French "
        "urban policy, with low incomes and high unemployment.",
        "Quartier prioritaire de la politique de la ville : revenus faibles et chômage élevé.",
    ),
    ("na", "n/a", "n.d."),
    # ---- sweeps
    (
        "fig.sweep.title",
        "How the key results move along each swept parameter ({n} sweep points)",
        "Évolution des principaux résultats selon chaque paramètre balayé ({n} points)",
    ),
    (
        "fig.sweep.averaged",
        "each point: mean over the other swept parameters' values",
        "chaque point : moyenne sur les valeurs des autres paramètres balayés",
    ),
    (
        "fig.sweep.bands",
        "shaded: 95 % interval over replications",
        "zone ombrée : intervalle à 95 % sur les réplications",
    ),
    ("fig.sweep.heatmap", "{metric}, by pair of swept values", "{metric}, par couple de valeurs"),
    ("nodata.sweep", "This batch has no sweep.", "Ce lot n'a pas de balayage."),
    (
        "nodata.sweep2",
        "This batch sweeps fewer than two parameters.",
        "Ce lot balaie moins de deux paramètres.",
    ),
    # ---- swept parameters (defaults when the scenario gives no label)
    ("unit.months", "months", "mois"),
    ("param.price_eur_per_outcome", "price per outcome (€)", "prix par résultat (€)"),
    ("param.threshold_value", "threshold", "seuil"),
    (
        "param.payment_cap_ratio",
        "payment cap (multiple of capital)",
        "plafond des paiements (multiple du capital)",
    ),
    ("param.payment_cap_eur", "payment cap (€)", "plafond des paiements (€)"),
    ("param.budget_eur_per_year", "budget per year (€)", "budget annuel (€)"),
    ("param.creaming_degree", "creaming degree", "degré d'écrémage"),
    ("param.places", "places", "places"),
    ("param.max_return_per_year", "maximum return per year", "rendement maximal annuel"),
    ("param.displacement_share", "displacement share", "part d'effet de déplacement"),
    (
        "kind.guarantee",
        "a guarantor covering the investor's loss",
        "garantie des pertes de l'investisseur",
    ),
    # ---- the contract designer (sim design-contract)
    (
        "design.asked",
        "Contract designer, {arm}, {replications} replications. Asked: the payer's NPV positive "
        "with probability at least {p_npv}; the investor reaching {target} a year with "
        "probability at least {p_investor}; repaying the investor costing the payer less than "
        "the service itself with probability at least {p_rule}.",
        "Conception du contrat, {arm}, {replications} réplications. Demandé : une valeur "
        "actuelle nette positive pour le payeur avec une probabilité d'au moins {p_npv} ; un "
        "rendement de {target} par an pour l'investisseur avec une probabilité d'au moins "
        "{p_investor} ; un remboursement de l'investisseur qui coûte au payeur moins que le "
        "service lui-même avec une probabilité d'au moins {p_rule}.",
    ),
    (
        "design.found",
        "{count} terms satisfy every constraint ({share} of those tried). The best, by the "
        "payer's mean NPV:",
        "{count} jeux de conditions respectent toutes les contraintes ({share} de ceux "
        "essayés). Les meilleurs, selon la valeur actuelle nette moyenne du payeur :",
    ),
    (
        "design.none",
        "No terms satisfy the constraints. Binding: {binding}.",
        "Aucun jeu de conditions ne respecte les contraintes. Contrainte limitante : {binding}.",
    ),
    (
        "design.alone",
        "Best probability each constraint reaches on its own: {alone}.",
        "Meilleure probabilité atteinte par chaque contrainte seule : {alone}.",
    ),
    ("design.constraint.payer_npv", "payer's NPV > 0", "VAN du payeur > 0"),
    (
        "design.constraint.investor_return",
        "investor reaches its return",
        "rendement de l'investisseur atteint",
    ),
    (
        "design.constraint.rule",
        "payer's cost below the service's",
        "coût pour le payeur inférieur à celui du service",
    ),
    ("design.axis.price", "price per outcome", "prix par résultat"),
    ("design.axis.scale", "rate-card scale", "échelle de la grille tarifaire"),
    ("design.threshold", "threshold", "seuil"),
    ("design.cap_ratio", "cap / capital", "plafond / capital"),
    ("design.max_return", "maximum return", "rendement maximal"),
    ("design.guarantee", "guarantee / capital", "garantie / capital"),
    ("design.p_payer_npv", "P(payer NPV > 0)", "P(VAN payeur > 0)"),
    ("design.mean_payer_npv", "payer NPV, mean", "VAN payeur, moyenne"),
    ("design.p_investor", "P(investor return)", "P(rendement investisseur)"),
    ("design.p_rule", "P(cost < service)", "P(coût < service)"),
    ("design.mean_payments", "payments, mean", "paiements, moyenne"),
    ("design.probability", "probability across replications", "probabilité sur les réplications"),
    (
        "design.figure.title",
        "Terms of a social impact contract that work for the payer and the investor",
        "Conditions d'un contrat à impact social acceptables pour le payeur et l'investisseur",
    ),
    (
        "design.figure.found",
        "the green region satisfies every constraint",
        "la zone verte respecte toutes les contraintes",
    ),
    (
        "design.figure.none",
        "no terms satisfy every constraint; binding: {binding}",
        "aucun jeu de conditions ne respecte toutes les contraintes ; contrainte limitante : "
        "{binding}",
    ),
    (
        "design.figure.plane",
        "cap {cap} x capital, maximum return {max_return}, guarantee {guarantee} of capital",
        "plafond {cap} x capital, rendement maximal {max_return}, garantie {guarantee} du capital",
    ),
    (
        "design.figure.curves",
        "each constraint's probability at threshold {threshold} (dotted: level asked)",
        "probabilité de chaque contrainte au seuil {threshold} (pointillés : niveau demandé)",
    ),
    ("design.legend.meets", "meets: {which}", "respecte : {which}"),
    ("design.legend.none", "meets none", "n'en respecte aucune"),
)

#: Glossary entries, in the order the report lists them.
GLOSSARY = (
    "twin",
    "true",
    "deadweight",
    "validated",
    "creaming",
    "contract",
    "call",
    "planned",
    "replication",
    "interval",
    "npv",
    "rsa",
    "a1",
    "qpv",
)


def _catalogue(index: int) -> dict[str, str]:
    return {key: texts[index] for key, *texts in _TEXTS}


def _french_spacing(text: str) -> str:
    """No-break spaces before ``:``, ``;``, ``?`` and ``!``, as French typography has them."""
    for mark, space in ((":", NBSP), (";", NNBSP), ("?", NNBSP), ("!", NNBSP)):
        text = text.replace(f" {mark}", f"{space}{mark}")
    return text


MESSAGES: dict[str, dict[str, str]] = {
    "en": _catalogue(0),
    "fr": {key: _french_spacing(text) for key, text in _catalogue(1).items()},
}
# English metric labels and units come from the headline table (the same as `sim compare`).
for _name, (_label, _unit) in HEADLINE.items():
    MESSAGES["en"][f"metric.{_name}"] = _label.strip()

#: The shipped needs' outcomes in French, counted (English: ``analysis.OUTCOME_LABELS``).
OUTCOME_LABELS_FR = {
    "employment": "emplois tenus 6 mois",
    "french": "niveaux A1 de français atteints",
    "rights": "droits au RSA ouverts",
}
#: French versions of ``analysis.NEED_METRICS``' labels, in the same order.
_NEED_METRICS_FR = (
    "{outcome} : réellement supplémentaires",
    "validés par les évaluateurs",
    "part d'effet d'aubaine parmi ceux comptés",
    "coût public par résultat réellement supplémentaire",
    "coût pour la société par résultat réellement supplémentaire",
)
for _need in need_keys():
    _outcome = OUTCOME_LABELS_FR.get(_need, outcome_label(_need))
    for (_metric, _en, _unit), _fr in zip(NEED_METRICS, _NEED_METRICS_FR, strict=True):
        MESSAGES["fr"][f"metric.{_metric.format(need=_need)}"] = _french_spacing(
            _fr.format(outcome=_outcome)
        )
    MESSAGES["en"][f"outcome.{_need}"] = outcome_label(_need)
    MESSAGES["fr"][f"outcome.{_need}"] = _outcome


class Labels:
    """The texts and number formats of one language.

    Args:
        lang: ``en`` or ``fr``.

    Raises:
        UserInputError: unknown language.
    """

    def __init__(self, lang: str = "en", names: DisplayNames | None = None) -> None:
        if lang not in LANGUAGES:
            raise UserInputError(
                f"unknown language {lang!r}: expected one of {', '.join(LANGUAGES)}"
            )
        self.lang = lang
        self.messages = MESSAGES[lang]
        self.names = names or DisplayNames()

    def __repr__(self) -> str:
        return f"Labels({self.lang!r})"

    def t(self, key: str, **values: object) -> str:
        """The message ``key`` with its placeholders filled.

        Raises:
            KeyError: no such message.
        """
        text = self.messages[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Whether the language has a message ``key``."""
        return key in self.messages

    # -- names -----------------------------------------------------------------------------

    def arm(self, arm: str) -> str:
        """A readable name for an arm: the scenario's ``label`` (``label_fr`` in French, else
        ``label``); without one, the mechanism's name when the arm is named after its mechanism,
        else the arm's name in words followed by its mechanism's (``rct creaming (social impact
        contract)``)."""
        given = self.names.arms.get(arm, {})
        if self.lang in given:
            return given[self.lang]
        if arm in MECHANISM_NAMES:
            return self.t(f"arm.{arm}")
        if "en" in given:
            return given["en"]
        words = arm.replace("_", " ").strip()
        mechanism = self.names.mechanisms.get(arm)
        if mechanism in MECHANISM_NAMES:
            return f"{words} ({self.t(f'arm.{mechanism}')})"
        return words

    def parameter(self, path: str) -> str:
        """A readable name for a swept parameter (a dotted path): the scenario's label in the
        language, else the parameter's name in words (``price per outcome (€)``), followed by
        the arm's name when the scenario has several arms."""
        given = self.names.parameters.get(path, {})
        if self.lang in given:
            return given[self.lang]
        if "en" in given:
            return given["en"]
        parts = path.split(".")
        name = parts[-1]
        key = f"param.{name}"
        if self.has(key):
            words = self.t(key)
        else:
            unit = ""
            for suffix, sign in (("_eur", "€"), ("_share", "%"), ("_months", "months")):
                if suffix in name:
                    name = name.replace(suffix, "")
                    unit = f" ({self.t('unit.months') if sign == 'months' else sign})"
            words = name.replace("_", " ") + unit
        if parts[0] == "arms" and len(parts) == 3 and len(self.names.mechanisms) > 1:
            words += f", {self.arm(parts[1])}"
        return words

    def metric(self, name: str) -> str:
        """The label of a headline metric (its identifier when it has none)."""
        key = f"metric.{name}"
        return self.t(key) if self.messages.get(key) else name

    def unit(self, unit: str) -> str:
        """The name of a unit of :data:`sim.reading.analysis.HEADLINE`."""
        key = f"unit.{unit}"
        return self.t(key) if key in self.messages else unit

    def kind(self, kind: str) -> str:
        """The name of a kind of cash flow."""
        key = f"kind.{kind}"
        return self.t(key) if key in self.messages else self.t("kind.other")

    def status(self, status: str) -> str:
        """The name of a batch status."""
        key = f"status.{status}"
        return self.t(key) if key in self.messages else status

    def join(self, items: list[str]) -> str:
        """``a, b and c`` (``a, b et c``)."""
        if len(items) <= 1:
            return "".join(items)
        return self.t("concl.and", first=", ".join(items[:-1]), last=items[-1])

    # -- numbers ---------------------------------------------------------------------------

    def num(self, x: float, digits: int | None = None) -> str:
        """A number for reading (Babel, the language's separators): thousands separated, one
        decimal below 100 and none above (unless ``digits`` says otherwise); ``n/a`` when not
        finite."""
        if not math.isfinite(x):
            return self.t("na")
        if digits is None:
            digits = 0 if abs(x) >= 100 else 1
        x = round(float(x), digits)
        if x == 0:
            x = 0.0  # no "-0.0"
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        text = format_decimal(x, format=pattern, locale=self.lang, decimal_quantization=True)
        return text.replace("\u00a0", NNBSP) if self.lang == "fr" else text

    def integer(self, x: float) -> str:
        """A whole number with thousands separated."""
        return self.num(x, 0)

    def pct(self, x: float, digits: int = 0) -> str:
        """A share as a percentage: ``12%`` (``12 %``)."""
        if not math.isfinite(x):
            return self.t("na")
        number = self.num(100 * x, digits)
        return f"{number}{NNBSP}%" if self.lang == "fr" else f"{number}%"

    def eur(self, x: float, like: float | None = None) -> str:
        """An amount in euros: ``€1,234`` or ``€2.08 million`` (``1 234 €``, ``2,08 M€``). The
        unit (euros or millions) is chosen by the size of ``like`` when given (so that amounts
        read together share one unit, see :meth:`eurs`), else of ``x``."""
        if not math.isfinite(x):
            return self.t("na")
        size = abs(x) if like is None or not math.isfinite(like) else abs(like)
        if size >= 1_000_000:
            number = self.num(x / 1_000_000, 2)
            suffix = f"{NNBSP}M€" if self.lang == "fr" else " million"
        else:
            number = self.num(x, 0)
            suffix = f"{NNBSP}€" if self.lang == "fr" else ""
        if self.lang == "fr":
            return number + suffix
        sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
        return f"{sign}€{digits}{suffix}"

    def eurs(self, amounts: Sequence[float]) -> list[str]:
        """Amounts read together (a range, an interval) in one unit: that of the largest."""
        finite = [abs(a) for a in amounts if math.isfinite(a)]
        like = max(finite) if finite else None
        return [self.eur(a, like) for a in amounts]

    def value(self, x: float, unit: str) -> str:
        """A value of a headline metric in its unit."""
        if unit in SHARE_UNITS:
            return self.pct(x)
        if unit == "index":
            return self.num(x, 2)
        return self.num(x)

    def cell(self, mean: float, low: float, high: float, unit: str) -> str:
        """``mean [low, high]`` (``mean [low ; high]``), or the mean alone without interval."""
        if not math.isfinite(low) or not math.isfinite(high):
            return self.value(mean, unit)
        separator = f"{NNBSP}; " if self.lang == "fr" else ", "
        return (
            f"{self.value(mean, unit)} [{self.value(low, unit)}{separator}{self.value(high, unit)}]"
        )

    def date(self, iso: str | None) -> str:
        """An ISO 8601 time in the language's long form (Babel), in UTC: ``November 26, 2026,
        9:59 AM UTC`` (``26 novembre 2026, 09:59 UTC``); ``unknown`` when missing."""
        if not iso:
            return self.t("prov.unknown")
        try:
            moment = datetime.fromisoformat(str(iso))
        except ValueError:
            return str(iso)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        day = format_date(moment, format="long", locale=self.lang)
        time = format_time(moment, format="short", tzinfo=UTC, locale=self.lang)
        return f"{day}, {time.replace(NNBSP, ' ')} UTC"


def english_messages() -> dict[str, str]:
    """The English catalogue (for checks that French output holds no English text)."""
    return dict(MESSAGES["en"])
