"""The dashboard's own texts in English and French; names of arms and metrics and number formats
come from :class:`sim.reading.i18n.Labels`, so the page reads like the report."""

from __future__ import annotations

from sim.reading.i18n import LANGUAGES, Labels

#: key -> (English, French). Placeholders in braces are filled by :meth:`Texts.t`.
TEXTS: dict[str, tuple[str, str]] = {
    "app.title": (
        "sim: funding social action, compared",
        "sim : financer l'action sociale, comparé",
    ),
    "nav.compare": ("Compare", "Comparer"),
    "nav.contract": ("Contract", "Contrat"),
    "nav.city": ("City", "Ville"),
    "lang.label": ("Language", "Langue"),
    "present.label": ("Presentation mode", "Mode présentation"),
    "db.label": ("Results database", "Base de résultats"),
    "db.none": (
        "No results database. Start with: sim dashboard results/demo.db (after make demo).",
        "Aucune base de résultats. Lancer : sim dashboard results/demo.db (après make demo).",
    ),
    "batch.label": ("Batch", "Lot"),
    "point.label": ("Sweep point", "Point du balayage"),
    "batch.runs": (
        "{done} runs done, {replications} replications, {months} months",
        "{done} simulations terminées, {replications} réplications, {months} mois",
    ),
    "compare.heading": (
        "The arms side by side, per need (mean over replications, 95 % interval)",
        "Les bras côte à côte, par besoin (moyenne des réplications, intervalle à 95 %)",
    ),
    "compare.none": (
        "This batch has no finished arm to compare.",
        "Ce lot n'a aucun bras terminé.",
    ),
    "need.employment": ("Jobs held 6 months", "Emplois tenus 6 mois"),
    "need.french": ("French A1 reached", "Niveau A1 de français atteint"),
    "need.rights": ("RSA rights claimed", "Droits au RSA ouverts"),
    "row.true": ("true additional outcomes", "résultats réellement supplémentaires"),
    "row.measured": ("validated by the evaluators", "validés par les évaluateurs"),
    "row.overall": ("All needs", "Tous besoins"),
    "metric.column": ("metric", "indicateur"),
    "figure.label": ("Figure", "Figure"),
    "figure.hover": (
        "Hover over bars and points to read their values.",
        "Survoler barres et points pour lire leurs valeurs.",
    ),
    "figure.outcomes": ("Outcomes over time", "Résultats dans le temps"),
    "figure.validated": ("True against validated outcomes", "Résultats vrais et validés"),
    "figure.cost": ("Spending per true additional outcome", "Dépense par résultat supplémentaire"),
    "figure.cash_flows": ("Public payers' cash flows", "Flux des payeurs publics"),
    "figure.investor": ("Investor's returns", "Rendements de l'investisseur"),
    "figure.reach": ("Reach by barrier quartile", "Portée par quartile de difficulté"),
    "figure.territories": ("Micro-territories", "Micro-territoires"),
    "figure.pilots": ("Pilot decisions", "Décisions sur les expérimentations"),
    "figure.sweep": ("Along the sweep", "Le long du balayage"),
    "figure.nodata": (
        "No data for this figure: {reason}",
        "Pas de données pour cette figure : {reason}",
    ),
    "figure.failed": (
        "This figure could not be drawn: {reason}",
        "Cette figure n'a pas pu être dessinée : {reason}",
    ),
    "export.png": ("Download PNG", "Télécharger en PNG"),
    "export.svg": ("Download SVG", "Télécharger en SVG"),
    "sweep.parameter": ("Swept parameter", "Paramètre balayé"),
    "sweep.metric": ("Metric", "Indicateur"),
    "sweep.title": ("{metric} along {parameter}", "{metric} selon {parameter}"),
    "sweep.other": ("other swept values pooled", "autres valeurs balayées regroupées"),
    # ---- contract page
    "contract.none": (
        "This batch has no social impact contract arm: choose another batch.",
        "Ce lot n'a pas de bras de contrat à impact social : choisir un autre lot.",
    ),
    "contract.arm": ("Contract arm", "Bras du contrat"),
    "contract.heading": (
        "Move the terms: every replication's evaluated outcomes are settled again",
        "Modifier les conditions : les résultats évalués de chaque réplication sont réglés "
        "à nouveau",
    ),
    "terms.price": ("Price per outcome (€)", "Prix par résultat (€)"),
    "terms.threshold": ("Threshold ({kind})", "Seuil ({kind})"),
    "terms.threshold.absolute": ("outcomes", "résultats"),
    "terms.threshold.relative": ("ratio to counterfactual", "ratio au contrefactuel"),
    "terms.cap": ("Payment cap (\u00d7 capital)", "Plafond des paiements (\u00d7 capital)"),
    "terms.max_return": (
        "Investor's maximum return (%/year)",
        "Rendement maximal de l'investisseur (%/an)",
    ),
    "terms.guarantee": ("First-loss guarantee", "Garantie de première perte"),
    "terms.payers": ("Payers' shares", "Parts des payeurs"),
    "terms.later": ("to come", "à venir"),
    "terms.stored": ("Back to the stored terms", "Revenir aux conditions signées"),
    "target.return": (
        "Investor's target return (%/year)",
        "Rendement visé par l'investisseur (%/an)",
    ),
    "target.share": (
        "In at least this share of replications",
        "Dans au moins cette part des réplications",
    ),
    "result.payer_npv": ("Payer's NPV (mean)", "VAN du payeur (moyenne)"),
    "result.loss": ("Probability the investor loses", "Probabilité de perte de l'investisseur"),
    "result.irr": ("Investor's return (median)", "Rendement de l'investisseur (médiane)"),
    "result.paid": (
        "Payer's cost of the contract (mean)",
        "Coût du contrat pour le payeur (moyenne)",
    ),
    "result.direct": ("Service bought directly (mean)", "Service acheté directement (moyenne)"),
    "result.rule": (
        "Bordeaux rule: repaying the investor costs the payer less than financing the service "
        "itself in {share} of replications.",
        "Règle de Bordeaux : rembourser l'investisseur coûte au payeur moins que financer "
        "lui-même le service dans {share} des réplications.",
    ),
    "result.rule_ok": ("holds", "respectée"),
    "result.rule_broken": ("broken", "non respectée"),
    "result.replications": ("over {n} replications", "sur {n} réplications"),
    "result.elapsed": ("settled in {ms} ms", "réglé en {ms} ms"),
    "fig.returns.title": (
        "Investor's return per replication",
        "Rendement de l'investisseur par réplication",
    ),
    "fig.returns.x": ("annual return", "rendement annuel"),
    "fig.returns.y": ("replications", "réplications"),
    "fig.returns.none": (
        "no return (lost everything): {n}",
        "aucun rendement (tout perdu) : {n}",
    ),
    "fig.returns.target": ("target", "cible"),
    "fig.region.title": (
        "Feasible terms: payer's NPV > 0 and investor's return ≥ {target}",
        "Conditions faisables : VAN du payeur > 0 et rendement ≥ {target}",
    ),
    "fig.region.x": ("price per outcome (€)", "prix par résultat (€)"),
    "fig.region.y": ("threshold", "seuil"),
    "fig.region.both": ("both", "les deux"),
    "fig.region.payer": ("payer only", "payeur seulement"),
    "fig.region.investor": ("investor only", "investisseur seulement"),
    "fig.region.neither": ("neither", "aucun"),
    "fig.region.current": ("current terms", "conditions choisies"),
    "fig.region.computing": ("Computing the feasible region…", "Calcul de la zone faisable…"),
    # ---- city page
    "city.heading": (
        "A small city, live: an arm and its status-quo twin (same seed, no programme)",
        "Une petite ville, en direct : un bras et son jumeau statu quo (même graine, "
        "sans programme)",
    ),
    "city.explain": (
        "Both runs draw the same random numbers month by month: every difference between the two "
        "panels is caused by the programme. That is what the twin means.",
        "Les deux simulations tirent les mêmes nombres aléatoires chaque mois : toute différence "
        "entre les deux panneaux est causée par le programme. C'est ce que veut dire le jumeau.",
    ),
    "city.arm": ("Way of funding", "Mode de financement"),
    "city.colour": ("Colour territories by", "Colorer les territoires selon"),
    "city.colour.unemployment": ("unemployment rate", "taux de chômage"),
    "city.colour.enrolment": ("enrolled per 1,000 residents", "inscrits pour 1 000 habitants"),
    "city.seed": ("Seed", "Graine"),
    "city.play": ("Play", "Lecture"),
    "city.pause": ("Pause", "Pause"),
    "city.step": ("Step", "Pas"),
    "city.reset": ("Reset", "Réinitialiser"),
    "city.month": ("Month {month} of {months}", "Mois {month} sur {months}"),
    "city.twin": ("status-quo twin", "jumeau statu quo"),
    "city.jobs": ("jobs held 6 months (cumulative)", "emplois tenus 6 mois (cumul)"),
    "city.difference": (
        "{arm} minus twin: {jobs} jobs held 6 months, {enrolled} enrolled now",
        "{arm} moins jumeau : {jobs} emplois tenus 6 mois, {enrolled} inscrits ce mois",
    ),
    "city.months_axis": ("month", "mois"),
}


class Texts:
    """The dashboard's texts and the report's labels in one language.

    Args:
        lang: ``en`` or ``fr``.
    """

    def __init__(self, lang: str = "en") -> None:
        self.labels = Labels(lang)
        self.lang = lang
        self._index = LANGUAGES.index(lang)

    def t(self, key: str, **values: object) -> str:
        """The text ``key`` with its placeholders filled."""
        text = TEXTS[key][self._index]
        return text.format(**values) if values else text
