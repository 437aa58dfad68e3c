-- 010: the answer reminder (issue 13, "help agents juggle several chats"):
-- seconds a customer's message may stay unanswered in an active chat
-- before its staff get a staff-only reminder in the session room; 0 = no
-- reminders.
ALTER TABLE queues
    ADD COLUMN answer_reminder integer NOT NULL DEFAULT 120
        CHECK (answer_reminder BETWEEN 0 AND 86400);
