"""Who answers for each asset, decided once: every asset factory and translator reads it here."""

# the landing zone, the loaders and bronze: what arrives and how it lands
DATA_ENGINEERING = "team:data-engineering"
# the dbt models: silver, snapshots, gold and the review mart
ANALYTICS_ENGINEERING = "team:analytics-engineering"
