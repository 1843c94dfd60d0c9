{# Every row satisfies a SQL condition (rows where it is false are the failures). #}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
