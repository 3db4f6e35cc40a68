-- mig:revision ${revision}
-- mig:down_revision ${down_revision}
-- mig:message ${message}
-- mig:create_date ${create_date}
-- mig:branch_labels ${branch_labels}
-- mig:depends_on ${depends_on}
-- mig:phase ${phase}

-- mig:upgrade


-- mig:downgrade

