-- 0008: durable intake. Where reading the alerts channel's history resumes
-- after a restart or a reconnect is the latest message on record.
CREATE INDEX alerts_by_message ON alerts (channel, message_ts);
