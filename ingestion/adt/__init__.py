"""The ADT (admission/discharge/transfer) event stream: its simulator and its bronze loader.

``ingestion.adt.simulator`` writes the topic ``adt.events`` into the landing zone as
Kafka-like micro-batches; ``ingestion.adt.pipeline`` lands them in ``bronze.adt__events``.
"""
